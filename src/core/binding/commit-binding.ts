/**
 * Commit binding: the repository and commit an artifact's annotations claim (`flux push artifact --source
 * --revision` writes them) must be the ones the keyless certificate says the signing workflow ran on
 * (SourceRepositoryURI / SourceRepositoryDigest / SourceRepositoryRef, or the GitHub-only v1 extensions).
 * Pure: the caller brings the manifest annotations and the claims of the signature that verified.
 */
import type { CertificateClaims } from './claims.ts';
import { describeOrigin } from './claims.ts';
import { parseRevision, refsAgree } from './revision.ts';
import { normalizeSourceUrl } from './source-url.ts';

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
  | { bound: false; keyBased: boolean; problems: string[] };

export type BindingDecision =
  | { action: 'accept'; check?: BindingCheck }
  | { action: 'warn' | 'refuse'; check: BindingCheck & { bound: false }; message: string };

const RANK: Readonly<Record<CommitBindingMode, number>> = { off: 0, warn: 1, enforce: 2 };

/**
 * The policy's mode, tightened by the object's annotation. A value that is not a mode, or one that would
 * loosen the policy, is ignored and explained in `note`.
 */
export function effectiveBindingMode(policyMode: CommitBindingMode, annotation: unknown): { mode: CommitBindingMode; note?: string } {
  if (annotation === undefined) return { mode: policyMode };
  const value = typeof annotation === 'string' ? annotation.trim() : annotation;
  if (typeof value !== 'string' || !(COMMIT_BINDING_MODES as readonly string[]).includes(value)) {
    const shown = typeof annotation === 'string' ? JSON.stringify(annotation.slice(0, 40)) : typeof annotation;
    return { mode: policyMode, note: `annotation ${COMMIT_BINDING_ANNOTATION}: ${shown} is not off, warn or enforce; the policy's ${policyMode} applies` };
  }
  const asked = value as CommitBindingMode;
  if (RANK[asked] >= RANK[policyMode]) return { mode: asked };
  return { mode: policyMode, note: `annotation ${COMMIT_BINDING_ANNOTATION}: ${asked} cannot loosen the policy's ${policyMode}` };
}

export function checkCommitBinding(annotations: Readonly<Record<string, string>> | undefined, signer: BindingSigner): BindingCheck {
  if (signer.mode === 'key') {
    return { bound: false, keyBased: true, problems: ['the signature is key-based: a public key carries no workflow claims, so nothing binds the artifact to a commit'] };
  }
  const { claims } = signer;
  const commit = claims.values.sourceRepositoryDigest?.toLowerCase();
  const repository = claims.values.sourceRepositoryURI;
  const ref = claims.values.sourceRepositoryRef;
  if (commit === undefined || repository === undefined) {
    const missing = [commit === undefined ? 'SourceRepositoryDigest' : undefined, repository === undefined ? 'SourceRepositoryURI' : undefined].filter(Boolean).join(' and ');
    const extra = claims.problems.length > 0 ? ` (${claims.problems.join('; ')})` : '';
    return { bound: false, keyBased: false, problems: [`the signing certificate carries no ${missing}: it was not issued to a CI workflow run, so nothing binds the artifact to a commit${extra}`] };
  }
  const problems = [
    ...revisionProblems(annotations?.[REVISION_ANNOTATION], commit, ref, claims),
    ...sourceProblems(annotations?.[SOURCE_ANNOTATION], repository, claims),
  ];
  if (problems.length > 0) return { bound: false, keyBased: false, problems };
  return { bound: true, commit, repository, ...(ref !== undefined ? { ref } : {}) };
}

function revisionProblems(revision: string | undefined, commit: string, ref: string | undefined, claims: CertificateClaims): string[] {
  const built = `the signing workflow built ${commit} (${describeOrigin(claims, 'sourceRepositoryDigest')})`;
  if (revision === undefined) return [`the artifact has no ${REVISION_ANNOTATION} annotation, but ${built}`];
  const parsed = parseRevision(revision);
  if (!parsed.ok) return [`revision annotation ${quoted(revision)} ${parsed.reason}, but ${built}`];
  const problems: string[] = [];
  if (parsed.hex !== commit) problems.push(`revision annotation ${quoted(revision)} but ${built}`);
  if (parsed.ref !== undefined && ref !== undefined && !refsAgree(parsed.ref, ref)) {
    problems.push(`revision annotation ref ${quoted(parsed.ref)} but the signing workflow ran on ${ref} (${describeOrigin(claims, 'sourceRepositoryRef')})`);
  }
  return problems;
}

function sourceProblems(source: string | undefined, repository: string, claims: CertificateClaims): string[] {
  const ranIn = `the signing workflow ran in ${repository} (${describeOrigin(claims, 'sourceRepositoryURI')})`;
  if (source === undefined) return [`the artifact has no ${SOURCE_ANNOTATION} annotation, but ${ranIn}`];
  const annotated = normalizeSourceUrl(source);
  if (!annotated.ok) return [`source annotation ${quoted(source)} ${annotated.reason}, but ${ranIn}`];
  const certified = normalizeSourceUrl(repository);
  if (!certified.ok) return [`source annotation ${quoted(source)} cannot be compared: the certificate's repository ${quoted(repository)} ${certified.reason}`];
  return annotated.key === certified.key ? [] : [`source annotation ${quoted(source)} but ${ranIn}`];
}

/** The mode applied to one check. Key-based signatures: `warn` says nothing, `enforce` refuses and says why. */
export function bindingDecision(mode: CommitBindingMode, check: BindingCheck): BindingDecision {
  if (mode === 'off' || check.bound) return { action: 'accept', check };
  if (check.keyBased && mode === 'warn') return { action: 'accept', check };
  const message = `commit binding: ${check.problems.join('; ')}`;
  return mode === 'warn' ? { action: 'warn', check, message } : { action: 'refuse', check, message: check.keyBased ? `${message} (commitBinding is enforce)` : message };
}

/** `7624bd5f279fb5d4700ea72c1b2373ee33960700` → `7624bd5f279f…`: long ids in 120-character admission warnings. */
export function abbreviateCommits(text: string): string {
  return text.replace(/\b([0-9a-f]{12})(?:[0-9a-f]{52}|[0-9a-f]{28})\b/g, '$1…');
}

/** A tenant's annotation inside our message: quoted, control characters escaped, long values cut. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

/** One line for a verified, bound signature (CLI output, SourceVerified message). */
export function describeBound(check: BindingCheck & { bound: true }): string {
  return `commit ${check.commit} of ${check.repository}${check.ref !== undefined ? ` (${check.ref})` : ''}`;
}
