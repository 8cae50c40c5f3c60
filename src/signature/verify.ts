/**
 * `verifyArtifactSignature`: the one entry point the controller, the webhook and the CLI call. It turns a
 * Flux `spec.verify` block into a signer policy (keyless identities + trust root, or the Secret's `*.pub`
 * keys), walks the discovered candidates until one verifies, and otherwise throws one PinwardenError listing
 * every candidate's reason. Unlike Flux, legacy `.sig` layers are still tried when bundles exist but none
 * verified: each candidate faces the same checks, so trying more of them cannot admit a weaker signature.
 */
import { PinwardenError } from '../core/errors.ts';
import type { Call, Descriptor, Repository } from '../oci/index.ts';
import type { SignerPolicy } from './bundle-verify.ts';
import type { CandidateOutcome } from './candidate.ts';
import { verifyCandidate } from './candidate.ts';
import type { DiscoveryLog } from './discovery.ts';
import { discoverCandidates, rethrowIfUndecidable } from './discovery.ts';
import { noVerifiedSignature, reasonOf } from './failure.ts';
import { identityPolicy } from './identity.ts';
import { publicKeysFromSecretData } from './keys.ts';
import type { TrustRootSource } from './trust-root.ts';
import { secretTrustRootSource } from './trust-root.ts';
import type { OciVerifyBlock, SecretDataReader, SignatureLimits, VerifiedSignature } from './types.ts';
import { DEFAULT_SIGNATURE_LIMITS } from './types.ts';

export interface VerifySignatureOptions {
  call: Call;
  /** Reads `secretRef` (cosign keys) and `trustedRootSecretRef` Secrets; required when the block names one. */
  secrets?: SecretDataReader;
  /** Where trust roots come from; default: `trustedRootSecretRef` via `secrets`, else the public-good root. */
  trustRoots?: TrustRootSource;
  /** Key-based only: also require a verified transparency-log entry (Flux: false). Keyless always requires it. */
  requireTlog?: boolean;
  /** Keyless with an empty `matchOIDCIdentity`: accept any identity from the trusted Fulcio (legacy cosign). */
  allowAnyIdentity?: boolean;
  limits?: Partial<SignatureLimits>;
  /**
   * Judges every signature that verified, before it is taken (commit binding, the policy's claim patterns):
   * undefined takes it; a refusal rejects it and is listed with the other candidates' reasons, unless it is a
   * `fallback`: then the first such signature is taken only when no candidate is accepted outright.
   */
  judge?: (signature: VerifiedSignature) => SignatureRefusal | undefined;
}

export interface SignatureRefusal {
  error: PinwardenError;
  /** Acceptable when nothing better verifies (commitBinding: warn). */
  fallback?: boolean;
}

export async function verifyArtifactSignature(
  repository: Repository,
  subject: Descriptor,
  verify: OciVerifyBlock,
  options: VerifySignatureOptions,
): Promise<VerifiedSignature> {
  const signer = await signerPolicy(verify, options);
  const limits = { ...DEFAULT_SIGNATURE_LIMITS, ...options.limits };
  const context = { repository, subject, signer, limits, call: options.call };
  const log: DiscoveryLog = { failures: [], untried: 0 };
  const reasons = log.failures;
  let fallback: VerifiedSignature | undefined;
  for await (const candidate of discoverCandidates(repository, subject, limits, options.call, log)) {
    try {
      const outcome = await verifyCandidate(candidate, context);
      if (!outcome) continue;
      const verified = verifiedSignature(outcome, subject);
      const refusal = options.judge?.(verified);
      if (!refusal) return verified;
      if (refusal.fallback) fallback ??= verified;
      else throw refusal.error;
    } catch (error) {
      rethrowIfUndecidable(error, options.call);
      reasons.push(reasonOf(candidate.label, error));
    }
  }
  if (fallback) return fallback;
  throw noVerifiedSignature(`${repository.name}@${subject.digest}`, reasons, log.untried);
}

/** Builds the signer policy before any registry call, so configuration errors surface first. */
export async function signerPolicy(verify: OciVerifyBlock, options: VerifySignatureOptions): Promise<SignerPolicy> {
  if (verify.provider !== 'cosign') {
    throw new PinwardenError(
      'PW_VERIFY_UNSUPPORTED',
      `verification provider '${verify.provider}' is not supported (only cosign)`,
    );
  }
  const trustRoots = options.trustRoots ?? secretTrustRootSource(options.secrets);
  const keySecret = verify.secretRef?.name;
  if (keySecret === undefined) {
    const identity = identityPolicy(verify.matchOIDCIdentity ?? [], options.allowAnyIdentity === true);
    return { mode: 'keyless', identity, trustRoot: await trustRoots.trustRoot(verify, options.call) };
  }
  if (!options.secrets)
    throw new PinwardenError('PW_INPUT_INVALID', `cannot read key secret '${keySecret}': no secret reader configured`);
  const keys = publicKeysFromSecretData(await options.secrets(keySecret, options.call), `secret '${keySecret}'`);
  const requireTlog = options.requireTlog === true;
  return {
    mode: 'key',
    keys,
    requireTlog,
    ...(requireTlog ? { trustRoot: await trustRoots.trustRoot(verify, options.call) } : {}),
  };
}

function verifiedSignature(outcome: CandidateOutcome, subject: Descriptor): VerifiedSignature {
  return {
    kind: outcome.kind,
    mode: outcome.mode,
    digest: subject.digest,
    subjects: outcome.subjects,
    source: outcome.source,
    ...(outcome.issuer !== undefined ? { issuer: outcome.issuer } : {}),
    ...(outcome.claims !== undefined ? { claims: outcome.claims } : {}),
    ...(outcome.keyName !== undefined ? { keyName: outcome.keyName } : {}),
    ...(outcome.logIndex !== undefined ? { logIndex: outcome.logIndex } : {}),
    ...(outcome.integratedTime !== undefined ? { integratedTime: outcome.integratedTime } : {}),
  };
}
