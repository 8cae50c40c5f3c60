/**
 * Commit binding: the repository and commit an artifact's annotations claim (`flux push artifact --source
 * --revision` writes them) must be the ones the keyless certificate says the signing workflow ran on
 * (SourceRepositoryURI / SourceRepositoryDigest / SourceRepositoryRef, or the GitHub-only v1 extensions).
 * Pure: the caller brings the manifest annotations and the claims of the signature that verified.
 */
import type { CertificateClaims } from './claims.ts';
import { describeOrigin } from './claims.ts';
import { parseRevision, refsAgree } from './revision.ts';
import { normalizeSourceUrl, redactSourceUrl } from './source-url.ts';

export const COMMIT_BINDING_MODES = ['off', 'warn', 'enforce'] as const;
export type CommitBindingMode = (typeof COMMIT_BINDING_MODES)[number];
/** An object may tighten the policy's mode (never loosen it) with this annotation. */
export const COMMIT_BINDING_ANNOTATION = 'pinwarden.dev/commit-binding';
export const SOURCE_ANNOTATION = 'org.opencontainers.image.source';
export const REVISION_ANNOTATION = 'org.opencontainers.image.revision';

/** What signed: a keyless certificate with its claims, or a public key (which carries none). */
export type BindingSigner = { mode: 'keyless'; claims: CertificateClaims } | { mode: 'key' };

export type BindingCheck =
  | { bound: true; commit: string; repository: string; ref?: string }
  | {
      bound: false;
      keyBased: boolean;
      problems: string[];
      /** The same, short enough for a 120-character admission warning. */ briefs: string[];
    };

export type BindingDecision =
  | { action: 'accept'; check?: BindingCheck }
  | { action: 'warn' | 'refuse'; check: BindingCheck & { bound: false }; message: string; brief: string };

const RANK: Readonly<Record<CommitBindingMode, number>> = { off: 0, warn: 1, enforce: 2 };

/**
 * The policy's mode, tightened by the object's annotation. A value that is not a mode, or one that would
 * loosen the policy, is ignored and explained in `note`.
 */
export function effectiveBindingMode(
  policyMode: CommitBindingMode,
  annotation: unknown,
): { mode: CommitBindingMode; note?: string } {
  if (annotation === undefined) return { mode: policyMode };
  const value = typeof annotation === 'string' ? annotation.trim() : annotation;
  if (typeof value !== 'string' || !(COMMIT_BINDING_MODES as readonly string[]).includes(value)) {
    const shown = typeof annotation === 'string' ? JSON.stringify(annotation.slice(0, 40)) : typeof annotation;
    return {
      mode: policyMode,
      note: `annotation ${COMMIT_BINDING_ANNOTATION}: ${shown} is not off, warn or enforce; the policy's ${policyMode} applies`,
    };
  }
  const asked = value as CommitBindingMode;
  if (RANK[asked] >= RANK[policyMode]) return { mode: asked };
  return {
    mode: policyMode,
    note: `annotation ${COMMIT_BINDING_ANNOTATION}: ${asked} cannot loosen the policy's ${policyMode}`,
  };
}

export function checkCommitBinding(
  annotations: Readonly<Record<string, string>> | undefined,
  signer: BindingSigner,
): BindingCheck {
  if (signer.mode === 'key') {
    return {
      bound: false,
      keyBased: true,
      problems: [
        'the signature is key-based: a public key carries no workflow claims, so nothing binds the artifact to a commit',
      ],
      briefs: ['key-based signature: no workflow claims'],
    };
  }
  const { claims } = signer;
  const commit = claims.values.sourceRepositoryDigest?.toLowerCase();
  const repository = claims.values.sourceRepositoryURI;
  const ref = claims.values.sourceRepositoryRef;
  if (commit === undefined || repository === undefined) {
    const missing = [
      commit === undefined ? 'SourceRepositoryDigest' : undefined,
      repository === undefined ? 'SourceRepositoryURI' : undefined,
    ]
      .filter(Boolean)
      .join(' and ');
    const extra = claims.problems.length > 0 ? ` (${claims.problems.join('; ')})` : '';
    return {
      bound: false,
      keyBased: false,
      problems: [
        `the signing certificate carries no ${missing}: it was not issued to a CI workflow run, so nothing binds the artifact to a commit${extra}`,
      ],
      briefs: [`certificate has no ${missing}: not from a CI workflow`],
    };
  }
  const found = [
    ...revisionProblems(annotations?.[REVISION_ANNOTATION], commit, ref, claims),
    ...sourceProblems(annotations?.[SOURCE_ANNOTATION], repository, claims),
  ];
  if (found.length > 0)
    return {
      bound: false,
      keyBased: false,
      problems: found.map((problem) => problem.text),
      briefs: found.map((problem) => problem.brief),
    };
  return { bound: true, commit, repository, ...(ref !== undefined ? { ref } : {}) };
}

interface Problem {
  text: string;
  brief: string;
}

function revisionProblems(
  revision: string | undefined,
  commit: string,
  ref: string | undefined,
  claims: CertificateClaims,
): Problem[] {
  const built = `the signing workflow built ${commit} (${describeOrigin(claims, 'sourceRepositoryDigest')})`;
  const signer = `signer built ${commit}`;
  if (revision === undefined)
    return [
      {
        text: `the artifact has no ${REVISION_ANNOTATION} annotation, but ${built}`,
        brief: `no revision annotation; ${signer}`,
      },
    ];
  const parsed = parseRevision(revision);
  if (!parsed.ok)
    return [
      {
        text: `revision annotation ${quoted(revision)} ${parsed.reason}, but ${built}`,
        brief: `revision ${quoted(revision, 60)} unusable; ${signer}`,
      },
    ];
  const problems: Problem[] = [];
  if (parsed.hex !== commit)
    problems.push({
      text: `revision annotation ${quoted(revision)} but ${built}`,
      brief: `revision ${quoted(revision, 60)} but ${signer}`,
    });
  if (parsed.ref !== undefined && ref !== undefined && !refsAgree(parsed.ref, ref)) {
    problems.push({
      text: `revision annotation ref ${quoted(parsed.ref)} but the signing workflow ran on ${ref} (${describeOrigin(claims, 'sourceRepositoryRef')})`,
      brief: `revision ref ${quoted(parsed.ref, 40)} but signer ran on ${ref}`,
    });
  }
  return problems;
}

function sourceProblems(annotation: string | undefined, repository: string, claims: CertificateClaims): Problem[] {
  const ranIn = `the signing workflow ran in ${repository} (${describeOrigin(claims, 'sourceRepositoryURI')})`;
  const signer = `signer ran in ${repository}`;
  if (annotation === undefined)
    return [
      {
        text: `the artifact has no ${SOURCE_ANNOTATION} annotation, but ${ranIn}`,
        brief: `no source annotation; ${signer}`,
      },
    ];
  // Shown redacted: a CI that clones with a token writes it into the URL.
  const source = redactSourceUrl(annotation);
  const annotated = normalizeSourceUrl(annotation);
  if (!annotated.ok)
    return [
      {
        text: `source annotation ${quoted(source)} ${annotated.reason}, but ${ranIn}`,
        brief: `source ${quoted(source, 60)} unusable; ${signer}`,
      },
    ];
  const certified = normalizeSourceUrl(repository);
  if (!certified.ok) {
    return [
      {
        text: `source annotation ${quoted(source)} cannot be compared: the certificate's repository ${quoted(repository)} ${certified.reason}`,
        brief: `certificate repository ${quoted(repository, 60)} unusable`,
      },
    ];
  }
  return annotated.key === certified.key
    ? []
    : [
        {
          text: `source annotation ${quoted(source)} but ${ranIn}`,
          brief: `source ${quoted(source, 60)} but ${signer}`,
        },
      ];
}

/** The mode applied to one check. Key-based signatures: `warn` says nothing, `enforce` refuses and says why. */
export function bindingDecision(mode: CommitBindingMode, check: BindingCheck): BindingDecision {
  if (mode === 'off' || check.bound) return { action: 'accept', check };
  if (check.keyBased && mode === 'warn') return { action: 'accept', check };
  const message = `commit binding: ${check.problems.join('; ')}`;
  const brief = abbreviateCommits(check.briefs.join('; '));
  return mode === 'warn'
    ? { action: 'warn', check, message, brief }
    : { action: 'refuse', check, brief, message: check.keyBased ? `${message} (commitBinding is enforce)` : message };
}

/** `7624bd5f279fb5d4700ea72c1b2373ee33960700` → `7624bd5f279f…`: long ids in 120-character admission warnings. */
export function abbreviateCommits(text: string): string {
  return text.replace(/\b([0-9a-f]{12})(?:[0-9a-f]{52}|[0-9a-f]{28})\b/g, '$1…');
}

/** A tenant's annotation inside our message: quoted, control characters escaped, long values cut. */
function quoted(value: string, max = 200): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

/** One line for a verified, bound signature (CLI output, SourceVerified message). */
export function describeBound(check: BindingCheck & { bound: true }): string {
  return `commit ${check.commit} of ${check.repository}${check.ref !== undefined ? ` (${check.ref})` : ''}`;
}
