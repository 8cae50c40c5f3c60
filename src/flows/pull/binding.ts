/**
 * What pinwarden checks about a signature beyond what `spec.verify` says, wherever it verifies
 * (verifyAtAdmission, `pinwarden verify`, later the controller): the commit binding (core/binding) against the
 * artifact's own manifest annotations, and the policy's certificate-claim patterns. Both run as the signature
 * room's `judge`, per candidate, so of two signatures the one from the right commit is the one taken.
 */
import type { BindingDecision, CommitBindingMode } from '../../core/binding/index.ts';
import {
  EMPTY_CLAIMS,
  bindingDecision,
  checkCommitBinding,
  commitBindingAnnotation,
  constrainsClaims,
  effectiveBindingMode,
  identityMismatch,
  manifestAnnotations,
} from '../../core/binding/index.ts';
import { PinwardenError } from '../../core/errors.ts';
import type { AllowedIdentity, SourcePolicy } from '../../core/policy/index.ts';
import type { Call, Descriptor, Digest, Repository } from '../../oci/index.ts';
import type {
  OciVerifyBlock,
  SignatureRefusal,
  VerifiedSignature,
  VerifySignatureOptions,
} from '../../signature/index.ts';

export interface SignatureChecks {
  /** The effective commit-binding mode (policy, tightened by the object's annotation). */
  bindingMode: CommitBindingMode;
  /** Why the object's `pinwarden.dev/commit-binding` annotation was ignored, when it was. */
  bindingNote?: string;
  /** The artifact manifest's annotations (read only when the mode is not off). */
  annotations?: Readonly<Record<string, string>>;
  /** The policy's identities, when one of them constrains certificate claims: the signer must fit one in full. */
  claimIdentities?: readonly AllowedIdentity[];
}

/** The checks verifyAtAdmission applies to one object under one policy (annotations still to be read). */
export function admissionChecks(object: unknown, policy: SourcePolicy): SignatureChecks {
  const settings = policy.spec.ociRepository;
  const annotation = commitBindingAnnotation(object);
  const { mode, note } = effectiveBindingMode(settings.commitBinding, annotation);
  const claimIdentities = settings.allowedIdentities.some(constrainsClaims) ? settings.allowedIdentities : undefined;
  return { bindingMode: mode, ...(note ? { bindingNote: note } : {}), ...(claimIdentities ? { claimIdentities } : {}) };
}

/** The manifest's own annotations (`flux push artifact --source --revision` writes them), by digest. */
export async function artifactAnnotations(
  repository: Repository,
  digest: Digest,
  call: Call,
): Promise<Record<string, string>> {
  const { bytes } = await repository.fetchManifest(digest, call);
  let manifest: unknown;
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new PinwardenError('PW_REGISTRY_PROTOCOL', `manifest ${digest} is not JSON: its annotations cannot be read`);
  }
  return manifestAnnotations(manifest);
}

/** The signature room's judge for these checks, or undefined when there is nothing to judge. */
export function signatureJudge(
  checks: SignatureChecks,
): ((signature: VerifiedSignature) => SignatureRefusal | undefined) | undefined {
  if (checks.bindingMode === 'off' && !checks.claimIdentities) return undefined;
  return (signature) => {
    const claimMiss = claimRefusal(checks.claimIdentities, signature);
    if (claimMiss) return { error: claimMiss };
    const decision = bindingOf(checks, signature);
    if (decision.action === 'refuse') return { error: new PinwardenError('PW_COMMIT_BINDING', decision.message) };
    if (decision.action === 'warn')
      return { error: new PinwardenError('PW_COMMIT_BINDING', decision.message), fallback: true };
    return undefined;
  };
}

/** The binding decision for the signature that was taken (to report it: a warning, the CLI's line). */
export function bindingOf(checks: SignatureChecks, signature: VerifiedSignature): BindingDecision {
  const signer =
    signature.mode === 'keyless'
      ? { mode: 'keyless' as const, claims: signature.claims ?? EMPTY_CLAIMS }
      : { mode: 'key' as const };
  return bindingDecision(checks.bindingMode, checkCommitBinding(checks.annotations, signer));
}

const MAX_LISTED = 3;

function claimRefusal(
  identities: readonly AllowedIdentity[] | undefined,
  signature: VerifiedSignature,
): PinwardenError | undefined {
  if (!identities || signature.mode !== 'keyless') return undefined;
  const signer = { issuer: signature.issuer, subjects: signature.subjects, claims: signature.claims ?? EMPTY_CLAIMS };
  const misses = identities.map((identity) => identityMismatch(identity, signer));
  if (misses.some((miss) => miss === undefined)) return undefined;
  const listed = misses.slice(0, MAX_LISTED).map((miss, index) => `allowedIdentities[${index}]: ${miss}`);
  if (misses.length > MAX_LISTED) listed.push(`${misses.length - MAX_LISTED} more`);
  return new PinwardenError(
    'PW_IDENTITY_MISMATCH',
    `the signing certificate fits no allowed identity of the policy in full (${listed.join('; ')})`,
    { subCode: 'IDENTITY_ERROR' },
  );
}

export type SignatureVerifier = (
  repository: Repository,
  subject: Descriptor,
  verify: OciVerifyBlock,
  options: VerifySignatureOptions,
) => Promise<VerifiedSignature>;

/**
 * Verify with the checks: reads the manifest annotations when the binding needs them (keyless, mode not off;
 * a caller that already holds the manifest, like the controller, passes `annotations`), judges every candidate,
 * and returns the signature taken with its binding decision (absent when the mode is off).
 */
export async function verifyWithChecks(
  verifyFn: SignatureVerifier,
  repository: Repository,
  subject: Descriptor,
  block: OciVerifyBlock,
  options: VerifySignatureOptions,
  checks: SignatureChecks,
): Promise<{ signature: VerifiedSignature; binding?: BindingDecision }> {
  const readAnnotations =
    checks.bindingMode !== 'off' && block.secretRef === undefined && checks.annotations === undefined;
  const judged = readAnnotations
    ? { ...checks, annotations: await artifactAnnotations(repository, subject.digest, options.call) }
    : checks;
  const judge = signatureJudge(judged);
  const signature = await verifyFn(repository, subject, block, { ...options, ...(judge ? { judge } : {}) });
  return checks.bindingMode === 'off' ? { signature } : { signature, binding: bindingOf(judged, signature) };
}
