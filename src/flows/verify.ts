/**
 * `verifyAtAdmission`: checks the cosign signature of the pinned digest inside the registry deadline, with a
 * cache keyed by (policy generation, namespace, url, digest, verify block, the key set and trust root used).
 * Keys and roots come only from `readVerifyTrust`, i.e. only what the policy trusts (`trustedKeys`,
 * `trustedRoots`); the signature room never reads a tenant's Secret itself. Successes are kept for the
 * positive TTL; definitive failures (a verification-kind error: no signature, bad signature, wrong identity)
 * for a short negative TTL; transient errors (registry down, deadline) are never kept. The cache only ever
 * answers this one question: every policy rule still runs on every admission.
 */
import { PinwardenError, toPinwardenError } from '../core/errors.ts';
import { isValidDigest, normalizeOciUrl, objectRefOf, readOciRepository } from '../core/flux/index.ts';
import type { OciRepositoryView } from '../core/flux/index.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import type { SecretReader } from '../kube/index.ts';
import type { Call, Digest } from '../oci/index.ts';
import {
  createParsedTrustRoots,
  fixedTrustRootSource,
  publicGoodTrustRoot,
  verifyArtifactSignature,
  verifyBlockFromView,
} from '../signature/index.ts';
import type { OciVerifyBlock, SecretDataReader, TrustRoot, VerifiedSignature } from '../signature/index.ts';
import { createBoundedCache } from '../runtime/index.ts';
import type { BindingDecision } from '../core/binding/index.ts';
import { admissionChecks, verifyWithChecks } from './pull/index.ts';
import type { SignatureChecks, SignatureVerifier } from './pull/index.ts';
import type { PinResolver } from './resolve.ts';
import { PUBLIC_GOOD_TRUST, needsVerifyTrust, readVerifyTrust } from './verify-trust.ts';
import type { VerifyTrust } from './verify-trust.ts';

export type VerifyOutcome =
  | { ok: true; signature: VerifiedSignature; cached: boolean; binding?: BindingReport }
  | { ok: false; error: PinwardenError; cached: boolean };

/** The commit binding of the signature taken (absent when `commitBinding` is off for this object). */
export interface BindingReport {
  decision: BindingDecision;
  /** Why the object's commit-binding annotation was ignored, when it was. */
  note?: string;
}

export interface AdmissionVerifier {
  /**
   * undefined when there is nothing to verify (no digest, no verify block). Never throws. `trust`: what
   * /validate already read and judged; without it the verifier reads the block's Secrets itself.
   */
  verify(object: unknown, policy: SourcePolicy, call: Call, trust?: VerifyTrust): Promise<VerifyOutcome | undefined>;
  /** The fresh cached outcome without any I/O; 'miss' when `verify` must ask (or a Secret must be read). Never throws. */
  cached(object: unknown, policy: SourcePolicy, trust?: VerifyTrust): VerifyOutcome | 'miss' | undefined;
}

export interface AdmissionVerifierOptions {
  pins: PinResolver;
  /** Reads `verify.secretRef` (cosign keys) and `verify.trustedRootSecretRef` in the object's namespace. */
  secrets?: SecretReader;
  now?: () => number;
  /** Default: `registry.cacheTTLSeconds` of the policy. */
  positiveTtlMs?: number;
  /** Default 10 s: long enough to absorb a retry storm, short enough for a signature pushed late. */
  negativeTtlMs?: number;
  maxEntries?: number;
  /** The signature room's entry point (tests inject a counting fake). */
  verifyFn?: SignatureVerifier;
}

interface Entry {
  outcome: { ok: true; signature: VerifiedSignature; binding?: BindingReport } | { ok: false; error: PinwardenError };
}

export function createAdmissionVerifier(options: AdmissionVerifierOptions): AdmissionVerifier {
  const now = options.now ?? Date.now;
  const verifyFn = options.verifyFn ?? verifyArtifactSignature;
  const entries = createBoundedCache<Entry['outcome']>({
    maxEntries: options.maxEntries ?? 10_000,
    maxBytes: 16 * 1024 * 1024,
    ttlMs: 60_000,
    now,
    sizeOf: (outcome) => (outcome.ok ? 4096 : 256 + outcome.error.message.length * 2),
  });
  const inFlight = new Map<string, Promise<Entry['outcome']>>();

  const remember = (key: string, outcome: Entry['outcome'], policy: SourcePolicy): void => {
    const ttl = outcome.ok
      ? (options.positiveTtlMs ?? policy.spec.registry.cacheTTLSeconds * 1000)
      : outcome.error.kind === 'verification'
        ? (options.negativeTtlMs ?? 10_000)
        : 0;
    if (ttl > 0) entries.set(key, outcome, ttl);
  };

  const roots = trustRootCache();
  const run = async (
    object: unknown,
    subject: VerifySubject,
    trust: VerifyTrust,
    policy: SourcePolicy,
    call: Call,
  ): Promise<Entry['outcome']> => {
    try {
      // Refused before any registry call: untrusted material is never used, not even to fail with.
      if (trust.refusal) throw trust.refusal;
      const repository = await options.pins.repository(object, subject.url, policy, call);
      const descriptor = await repository.resolve(subject.digest, call);
      const requireTlog = policy.spec.ociRepository.requireTlogForKeys;
      // Commit binding reads the artifact's own annotations (keyless only: a public key has no claims to bind);
      // claim patterns and the binding judge every candidate.
      const verifyOptions = {
        call,
        secrets: vettedKeys(subject.block, trust),
        trustRoots: fixedTrustRootSource(roots.of(trust)),
        requireTlog,
      };
      const { signature, binding } = await verifyWithChecks(
        verifyFn,
        repository,
        descriptor,
        subject.block,
        verifyOptions,
        subject.checks,
      );
      if (!binding) return { ok: true, signature };
      return {
        ok: true,
        signature,
        binding: { decision: binding, ...(subject.checks.bindingNote ? { note: subject.checks.bindingNote } : {}) },
      };
    } catch (error) {
      return { ok: false, error: toPinwardenError(error) };
    }
  };

  const fresh = (key: string): VerifyOutcome | undefined => {
    const hit = entries.get(key);
    return hit ? { ...hit, cached: true } : undefined;
  };

  return {
    cached(object, policy, given) {
      const subject = verifySubject(object, policy);
      if (!subject) return undefined;
      if (subject instanceof PinwardenError) return { ok: false, error: subject, cached: false };
      const trust = given ?? (subject.needsTrust ? undefined : PUBLIC_GOOD_TRUST);
      return trust ? (fresh(cacheKey(policy, subject, trust)) ?? 'miss') : 'miss';
    },
    async verify(object, policy, call, given) {
      const subject = verifySubject(object, policy);
      if (!subject) return undefined;
      if (subject instanceof PinwardenError) return { ok: false, error: subject, cached: false };
      const trust =
        given ??
        (subject.needsTrust
          ? await readVerifyTrust(subject.view, subject.namespace, policy, options.secrets, call)
          : PUBLIC_GOOD_TRUST);
      const key = cacheKey(policy, subject, trust);
      const hit = fresh(key);
      if (hit) return hit;
      let flight = inFlight.get(key);
      if (!flight) {
        flight = run(object, subject, trust, policy, call).finally(() => inFlight.delete(key));
        inFlight.set(key, flight);
        void flight.then((outcome) => remember(key, outcome, policy));
      }
      return { ...(await flight), cached: false };
    },
  };
}

interface VerifySubject {
  namespace: string;
  url: string;
  digest: Digest;
  block: OciVerifyBlock;
  view: OciRepositoryView;
  needsTrust: boolean;
  checks: SignatureChecks;
}

/**
 * What to verify, or undefined when there is nothing to; a verify block the signature room refuses (an
 * identity pattern that is not a string) is returned as its error, for the caller to answer with.
 */
function verifySubject(object: unknown, policy: SourcePolicy): VerifySubject | PinwardenError | undefined {
  const view = readOciRepository(object);
  const digest = view.ref?.digest;
  if (!view.verify || view.url === undefined || digest === undefined || !isValidDigest(digest)) return undefined;
  const namespace = objectRefOf(object).namespace ?? 'default';
  let block: OciVerifyBlock;
  try {
    block = verifyBlockFromView(view.verify);
  } catch (error) {
    return toPinwardenError(error, 'PW_INPUT_INVALID');
  }
  return {
    namespace,
    url: view.url,
    digest: digest as Digest,
    block,
    view,
    needsTrust: needsVerifyTrust(view),
    checks: admissionChecks(object, policy),
  };
}

/** The trust id is a hash of the key fingerprints and root the verification could use (never their bytes). */
function cacheKey(policy: SourcePolicy, subject: VerifySubject, trust: VerifyTrust): string {
  const settings = policy.spec.ociRepository;
  return JSON.stringify([
    policy.metadata.generation ?? 0,
    policy.metadata.name,
    settings.requireTlogForKeys,
    subject.namespace,
    normalizeOciUrl(subject.url),
    subject.digest,
    subject.block,
    trust.id,
    subject.checks.bindingMode,
  ]);
}

/** Only the vetted `*.pub` entries, and only under the name the block gives: nothing else is readable. */
function vettedKeys(block: OciVerifyBlock, trust: VerifyTrust): SecretDataReader {
  return async (name) => {
    if (trust.keys && name === block.secretRef?.name) return trust.keys;
    throw new PinwardenError('PW_KEY_NOT_TRUSTED', `Secret ${name}: no key the policy trusts`);
  };
}

/** The vetted custom root (parsed once per digest), else the public-good root. */
function trustRootCache(): { of(trust: VerifyTrust): TrustRoot } {
  const parsed = createParsedTrustRoots();
  return {
    of: (trust) =>
      trust.trustedRoot
        ? parsed(trust.trustedRoot.digest, trust.trustedRoot.bytes, trust.trustedRoot.source)
        : publicGoodTrustRoot(),
  };
}
