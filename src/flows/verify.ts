/**
 * `verifyAtAdmission`: checks the cosign signature of the pinned digest inside the registry deadline, with a
 * cache keyed by (policy generation, namespace, url, digest, verify block). Successes are kept for the
 * positive TTL; definitive failures (a verification-kind error: no signature, bad signature, wrong identity)
 * for a short negative TTL; transient errors (registry down, deadline) are never kept. The cache only ever
 * answers this one question: every policy rule still runs on every admission.
 */
import { PinwardenError, toPinwardenError } from '../core/errors.ts';
import { isValidDigest, normalizeOciUrl } from '../core/flux/oci-url.ts';
import { asRecord, asString, objectRefOf, readOciRepository } from '../core/flux/objects.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import type { SecretReader } from '../kube/index.ts';
import type { Call, Descriptor, Digest, Repository } from '../oci/index.ts';
import { verifyArtifactSignature } from '../signature/index.ts';
import type { OciVerifyBlock, SecretDataReader, VerifiedSignature, VerifySignatureOptions } from '../signature/index.ts';
import type { PinResolver } from './resolve.ts';

export type VerifyOutcome = { ok: true; signature: VerifiedSignature; cached: boolean } | { ok: false; error: PinwardenError; cached: boolean };

export interface AdmissionVerifier {
  /** undefined when there is nothing to verify (no digest, no verify block). Never throws. */
  verify(object: unknown, policy: SourcePolicy, call: Call): Promise<VerifyOutcome | undefined>;
  /** The fresh cached outcome without any I/O; 'miss' when `verify` must ask the registry. Never throws. */
  cached(object: unknown, policy: SourcePolicy): VerifyOutcome | 'miss' | undefined;
}

export type VerifyFunction = (repository: Repository, subject: Descriptor, verify: OciVerifyBlock, options: VerifySignatureOptions) => Promise<VerifiedSignature>;

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
  verifyFn?: VerifyFunction;
}

interface Entry {
  outcome: { ok: true; signature: VerifiedSignature } | { ok: false; error: PinwardenError };
  expiresAt: number;
}

export function createAdmissionVerifier(options: AdmissionVerifierOptions): AdmissionVerifier {
  const now = options.now ?? Date.now;
  const verifyFn = options.verifyFn ?? verifyArtifactSignature;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<Entry['outcome']>>();

  const remember = (key: string, outcome: Entry['outcome'], policy: SourcePolicy): void => {
    const ttl = outcome.ok ? (options.positiveTtlMs ?? policy.spec.registry.cacheTTLSeconds * 1000) : outcome.error.kind === 'verification' ? (options.negativeTtlMs ?? 10_000) : 0;
    if (ttl <= 0) return;
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value ?? '');
    entries.set(key, { outcome, expiresAt: now() + ttl });
  };

  const run = async (object: unknown, subject: VerifySubject, policy: SourcePolicy, call: Call): Promise<Entry['outcome']> => {
    try {
      const repository = await options.pins.repository(object, subject.url, policy, call);
      const descriptor = await repository.resolve(subject.digest, call);
      const requireTlog = policy.spec.ociRepository.requireTlogForKeys;
      const signature = await verifyFn(repository, descriptor, subject.block, { call, secrets: secretData(options.secrets, subject.namespace), requireTlog });
      return { ok: true, signature };
    } catch (error) {
      return { ok: false, error: toPinwardenError(error) };
    }
  };

  const fresh = (key: string): VerifyOutcome | undefined => {
    const hit = entries.get(key);
    if (hit && hit.expiresAt > now()) return { ...hit.outcome, cached: true };
    if (hit) entries.delete(key);
    return undefined;
  };

  return {
    cached(object, policy) {
      const subject = verifySubject(object);
      return subject ? (fresh(cacheKey(policy, subject)) ?? 'miss') : undefined;
    },
    async verify(object, policy, call) {
      const subject = verifySubject(object);
      if (!subject) return undefined;
      const key = cacheKey(policy, subject);
      const hit = fresh(key);
      if (hit) return hit;
      let flight = inFlight.get(key);
      if (!flight) {
        flight = run(object, subject, policy, call).finally(() => inFlight.delete(key));
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
}

function verifySubject(object: unknown): VerifySubject | undefined {
  const view = readOciRepository(object);
  const digest = view.ref?.digest;
  if (!view.verify || view.url === undefined || digest === undefined || !isValidDigest(digest)) return undefined;
  return { namespace: objectRefOf(object).namespace ?? 'default', url: view.url, digest: digest as Digest, block: verifyBlock(object) };
}

/** The raw `spec.verify`, typed the way the signature room takes it (absent provider = cosign, like Flux). */
function verifyBlock(object: unknown): OciVerifyBlock {
  const verify = asRecord(asRecord(asRecord(object)?.spec)?.verify) ?? {};
  const name = (value: unknown): string | undefined => asString(asRecord(value)?.name) || undefined;
  const secretRef = name(verify.secretRef);
  const trustedRoot = name(verify.trustedRootSecretRef);
  const identities = Array.isArray(verify.matchOIDCIdentity)
    ? verify.matchOIDCIdentity.map((entry) => ({ issuer: asString(asRecord(entry)?.issuer) ?? '', subject: asString(asRecord(entry)?.subject) ?? '' }))
    : undefined;
  return {
    provider: asString(verify.provider) ?? 'cosign',
    ...(secretRef ? { secretRef: { name: secretRef } } : {}),
    ...(identities ? { matchOIDCIdentity: identities } : {}),
    ...(trustedRoot ? { trustedRootSecretRef: { name: trustedRoot } } : {}),
  };
}

function cacheKey(policy: SourcePolicy, subject: VerifySubject): string {
  const settings = policy.spec.ociRepository;
  return JSON.stringify([policy.metadata.generation ?? 0, policy.metadata.name, settings.requireTlogForKeys, subject.namespace, normalizeOciUrl(subject.url), subject.digest, subject.block]);
}

/** Secret values as text, for `*.pub` keys and `trusted_root.json`; a missing Secret is an input error. */
function secretData(secrets: SecretReader | undefined, namespace: string): SecretDataReader | undefined {
  if (!secrets) return undefined;
  return async (name, call) => {
    const secret = await secrets.getSecret(namespace, name, call.signal);
    if (!secret) throw new PinwardenError('PW_INPUT_INVALID', `spec.verify: Secret ${namespace}/${name} not found`);
    const text: Record<string, string> = {};
    for (const [key, value] of Object.entries(secret.data)) text[key] = new TextDecoder().decode(value);
    return text;
  };
}
