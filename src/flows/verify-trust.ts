/**
 * Reads the Secrets a `spec.verify` block names (the tenant's `*.pub` keys, a `trusted_root.json`) the way
 * registry access reads pull secrets, and keeps two things apart: the facts the rules judge (fingerprints, a
 * digest: core/trust) and the material verification may use, which exists only when core's decision accepted
 * it. So `/validate` and `verifyAtAdmission` cannot disagree, and an untrusted key never reaches a verifier.
 */
import { createHash } from 'node:crypto';
import { PinwardenError, isPinwardenError } from '../core/errors.ts';
import type { OciRepositoryView } from '../core/flux/index.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import { keySetDecision, publicKeyFingerprint, sha256Name, trustedRootDecision } from '../core/trust/index.ts';
import type { KeySecretFacts, RootSecretFacts, TrustDecision, VerifySecretFacts } from '../core/trust/index.ts';
import type { KubeSecret, SecretReader } from '../kube/index.ts';
import type { Call } from '../oci/index.ts';
import { TRUSTED_ROOT_SECRET_KEY } from '../signature/index.ts';

export interface VerifyTrust {
  /** What the rules see. */
  facts: VerifySecretFacts;
  /** `verify.secretRef`: every `*.pub` entry (PEM text), present only when all of them are trusted. */
  keys?: Readonly<Record<string, string>>;
  /** `verify.trustedRootSecretRef`: the exact `trusted_root.json` bytes, present only when their digest is trusted. */
  trustedRoot?: { bytes: Uint8Array; digest: string; source: string };
  /** Why material the block names is absent: verification must fail with this rather than use anything else. */
  refusal?: PinwardenError;
  /** sha256 over the key fingerprints and the root actually usable: part of the verification cache key. */
  id: string;
}

const PUBLIC_GOOD = 'public-good';

/** The block names a Secret whose content decides trust (cosign only: notation is not verified here). */
export function needsVerifyTrust(view: OciRepositoryView): boolean {
  const verify = view.verify;
  return (
    verify !== undefined &&
    verify.provider === 'cosign' &&
    (verify.secretName !== undefined || verify.trustedRootSecretName !== undefined)
  );
}

export async function readVerifyTrust(
  view: OciRepositoryView,
  namespace: string,
  policy: SourcePolicy,
  secrets: SecretReader | undefined,
  call: Call,
): Promise<VerifyTrust> {
  const settings = policy.spec.ociRepository;
  const verify = view.verify;
  const facts: VerifySecretFacts = {};
  let keys: Record<string, string> | undefined;
  let trustedRoot: VerifyTrust['trustedRoot'];
  let refusal: PinwardenError | undefined;
  const keySecret = verify?.provider === 'cosign' ? verify.secretName : undefined;
  if (keySecret !== undefined) {
    const read =
      settings.allowKeyBased && settings.trustedKeys.length > 0
        ? await readKeys(secrets, namespace, keySecret, call)
        : undefined;
    if (read) facts.keys = read.facts;
    const decision = settings.allowKeyBased ? keySetDecision(settings, keySecret, read?.facts) : notAllowed();
    if (decision.trusted) keys = read?.pems;
    else refusal = new PinwardenError('PW_KEY_NOT_TRUSTED', decision.message);
  }
  const rootSecret = verify?.provider === 'cosign' ? verify.trustedRootSecretName : undefined;
  if (rootSecret !== undefined) {
    const read = settings.trustedRoots.length > 0 ? await readRoot(secrets, namespace, rootSecret, call) : undefined;
    if (read) facts.trustedRoot = read.facts;
    const decision = trustedRootDecision(settings, rootSecret, read?.facts);
    if (decision.trusted && read?.bytes && read.facts.ok)
      trustedRoot = { bytes: read.bytes, digest: read.facts.digest, source: `secret ${namespace}/${rootSecret}` };
    else
      refusal ??= new PinwardenError(
        'PW_TRUST_ROOT_NOT_TRUSTED',
        decision.trusted ? `Secret ${rootSecret} changed while it was read` : decision.message,
      );
  }
  return {
    facts,
    ...(keys ? { keys } : {}),
    ...(trustedRoot ? { trustedRoot } : {}),
    ...(refusal ? { refusal } : {}),
    id: trustId(keys, trustedRoot),
  };
}

/** The trust of a block that names no Secret: the public-good root, no keys. */
export const PUBLIC_GOOD_TRUST: VerifyTrust = { facts: {}, id: trustId(undefined, undefined) };

function notAllowed(): TrustDecision {
  return { trusted: false, unseen: false, message: 'cosign public-key verification is not allowed by this policy' };
}

async function readKeys(
  secrets: SecretReader | undefined,
  namespace: string,
  name: string,
  call: Call,
): Promise<{ facts: KeySecretFacts; pems?: Record<string, string> }> {
  const secret = await readSecret(secrets, namespace, name, call);
  if ('problem' in secret) return { facts: { ok: false, problem: secret.problem } };
  const pems: Record<string, string> = {};
  for (const entry of Object.keys(secret.data)
    .filter((key) => key.endsWith('.pub'))
    .sort())
    pems[entry] = new TextDecoder().decode(secret.data[entry]);
  return {
    facts: { ok: true, keys: Object.values(pems).map((pem) => ({ fingerprint: publicKeyFingerprint(pem) })) },
    pems,
  };
}

async function readRoot(
  secrets: SecretReader | undefined,
  namespace: string,
  name: string,
  call: Call,
): Promise<{ facts: RootSecretFacts; bytes?: Uint8Array }> {
  const secret = await readSecret(secrets, namespace, name, call);
  if ('problem' in secret) return { facts: { ok: false, problem: secret.problem } };
  const bytes = secret.data[TRUSTED_ROOT_SECRET_KEY];
  if (bytes === undefined)
    return { facts: { ok: false, problem: `'${TRUSTED_ROOT_SECRET_KEY}' not found in Secret ${namespace}/${name}` } };
  return { facts: { ok: true, digest: sha256Name(bytes) }, bytes };
}

/** A missing Secret or an API failure is a fact (the rule denies with it), never an exception. */
async function readSecret(
  secrets: SecretReader | undefined,
  namespace: string,
  name: string,
  call: Call,
): Promise<KubeSecret | { problem: string }> {
  if (!secrets) return { problem: 'no Kubernetes Secret reader is configured' };
  try {
    const secret = await secrets.getSecret(namespace, name, call.signal);
    return secret ?? { problem: `Secret ${namespace}/${name} not found` };
  } catch (error) {
    // Our own adapter errors name the object and the status only; anything else is not shown.
    return {
      problem: isPinwardenError(error)
        ? `${error.message} [${error.code}]`
        : `reading Secret ${namespace}/${name} failed`,
    };
  }
}

function trustId(keys: Readonly<Record<string, string>> | undefined, root: VerifyTrust['trustedRoot']): string {
  const fingerprints = Object.values(keys ?? {})
    .map((pem) => publicKeyFingerprint(pem) ?? '')
    .sort();
  const listing = JSON.stringify([fingerprints, root?.digest ?? PUBLIC_GOOD]);
  return `trust:sha256:${createHash('sha256').update(listing).digest('hex')}`;
}
