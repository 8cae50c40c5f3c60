/**
 * How the policy names trust material. A key is named by its SPKI fingerprint: `sha256:<hex>` of the DER
 * SubjectPublicKeyInfo (`openssl pkey -pubin -in cosign.pub -outform DER | sha256sum`); a policy may list the
 * PEM itself, which means its fingerprint. A Sigstore trusted root is named by `sha256:<hex>` of the exact bytes
 * of the `trusted_root.json` Secret value (`sha256sum trusted_root.json`). node:crypto only parses and hashes.
 */
import { createHash, createPublicKey } from 'node:crypto';

const FINGERPRINT = /^sha256:[a-f0-9]{64}$/;
const SUPPORTED_KEY_TYPES = new Set(['ec', 'rsa', 'ed25519']);

export function isSha256Name(value: string): boolean {
  return FINGERPRINT.test(value);
}

/** `sha256:<hex>` of the key's DER SubjectPublicKeyInfo; undefined when the text is not a supported PEM public key. */
export function publicKeyFingerprint(pem: string): string | undefined {
  try {
    const key = createPublicKey(pem);
    if (!SUPPORTED_KEY_TYPES.has(key.asymmetricKeyType ?? '')) return undefined;
    return sha256Name(key.export({ format: 'der', type: 'spki' }));
  } catch {
    return undefined;
  }
}

/** A `trustedKeys` entry as a fingerprint: itself when it already is one, else the fingerprint of its PEM. */
export function trustedKeyFingerprint(entry: string): string | undefined {
  const trimmed = entry.trim();
  return isSha256Name(trimmed) ? trimmed : publicKeyFingerprint(trimmed);
}

/** `sha256:<hex>` of bytes: how a trusted root is named in `trustedRoots`. */
export function sha256Name(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
