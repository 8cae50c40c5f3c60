/**
 * The one decision on tenant-supplied trust material, shared by the rules (/validate, `check`) and by
 * verifyAtAdmission (which uses material only when this says trusted): a `verify.secretRef` key set is
 * trusted only when every key in it is listed in `trustedKeys`; a `trustedRootSecretRef` root only when its
 * digest is listed in `trustedRoots`. Messages name counts and the Secret, never a key or digest read from it.
 */
import type { OciRepositoryPolicy } from '../policy/types.ts';
import type { KeySecretFacts, RootSecretFacts } from './facts.ts';
import { trustedKeyFingerprint } from './fingerprint.ts';

export type TrustDecision =
  | { trusted: true }
  /** unseen: nobody could look (offline); refused: the material is not what the policy trusts, or unreadable. */
  | { trusted: false; unseen: boolean; message: string };

type TrustSettings = Pick<OciRepositoryPolicy, 'trustedKeys' | 'trustedRoots'>;

const fingerprintCache = new WeakMap<readonly string[], ReadonlySet<string>>();

/** The fingerprints of `trustedKeys` (PEM entries hashed once per policy object). */
export function trustedFingerprints(settings: TrustSettings): ReadonlySet<string> {
  let known = fingerprintCache.get(settings.trustedKeys);
  if (!known) {
    known = new Set(
      settings.trustedKeys.map(trustedKeyFingerprint).filter((value): value is string => value !== undefined),
    );
    fingerprintCache.set(settings.trustedKeys, known);
  }
  return known;
}

export function keySetDecision(
  settings: TrustSettings,
  secretName: string,
  facts: KeySecretFacts | undefined,
): TrustDecision {
  if (settings.trustedKeys.length === 0) {
    return refused(
      `this policy trusts no public key (spec.ociRepository.trustedKeys is empty), so no key in Secret ${secretName} can verify`,
    );
  }
  if (!facts)
    return {
      trusted: false,
      unseen: true,
      message: `the keys in Secret ${secretName} could not be checked here: at admission every *.pub entry must be one of spec.ociRepository.trustedKeys`,
    };
  if (!facts.ok)
    return refused(
      `Secret ${secretName} could not be checked against spec.ociRepository.trustedKeys: ${facts.problem}`,
    );
  if (facts.keys.length === 0)
    return refused(`Secret ${secretName} holds no cosign public key (no entry ending in .pub)`);
  const unparsable = facts.keys.filter((key) => key.fingerprint === undefined).length;
  if (unparsable > 0)
    return refused(
      `${unparsable} of the ${facts.keys.length} *.pub entries in Secret ${secretName} are not PEM public keys`,
    );
  const known = trustedFingerprints(settings);
  const untrusted = facts.keys.filter((key) => !known.has(key.fingerprint ?? '')).length;
  if (untrusted > 0) {
    return refused(
      `${untrusted} of the ${facts.keys.length} public keys in Secret ${secretName} are not in spec.ociRepository.trustedKeys; cosign accepts a signature from any of them, so every one must be trusted`,
    );
  }
  return { trusted: true };
}

export function trustedRootDecision(
  settings: TrustSettings,
  secretName: string,
  facts: RootSecretFacts | undefined,
): TrustDecision {
  if (settings.trustedRoots.length === 0) {
    return refused(
      `this policy accepts no custom Sigstore trusted root (spec.ociRepository.trustedRoots is empty), so the root in Secret ${secretName} cannot be used`,
    );
  }
  if (!facts)
    return {
      trusted: false,
      unseen: true,
      message: `the trusted_root.json in Secret ${secretName} could not be checked here: at admission its sha256 must be one of spec.ociRepository.trustedRoots`,
    };
  if (!facts.ok)
    return refused(
      `Secret ${secretName} could not be checked against spec.ociRepository.trustedRoots: ${facts.problem}`,
    );
  if (!settings.trustedRoots.includes(facts.digest)) {
    return refused(
      `the trusted_root.json in Secret ${secretName} is not one of spec.ociRepository.trustedRoots; a root of one's own can certify any identity`,
    );
  }
  return { trusted: true };
}

function refused(message: string): TrustDecision {
  return { trusted: false, unseen: false, message };
}
