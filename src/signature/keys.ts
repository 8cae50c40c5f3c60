/**
 * cosign public keys for key-based verification: every `*.pub` entry of a Secret's data is a PEM public key
 * (ECDSA P-256/P-384/P-521, RSA, Ed25519), as Flux reads them. Legacy signatures are checked with node:crypto
 * over the exact payload bytes, as cosign does: SHA-256 for ECDSA and RSA PKCS#1 v1.5, none for Ed25519.
 */
import type { KeyObject } from 'node:crypto';
import { createHash, createPublicKey, verify } from 'node:crypto';
import type { KeyFinderFunc } from '@sigstore/verify';
import { PinwardenError } from '../core/errors.ts';

export interface PublicKeyMaterial {
  /** Secret entry name, e.g. `cosign.pub` (a name, never key bytes, goes into messages). */
  name: string;
  key: KeyObject;
  spki: Buffer;
  /** base64(sha256(SPKI)): what cosign v3 writes into a bundle's `publicKey.hint`. */
  hint: string;
}

const SUPPORTED_KEY_TYPES = new Set(['ec', 'rsa', 'ed25519']);

/** Parses every `*.pub` entry; a key that does not parse aborts, as in Flux. */
export function publicKeysFromSecretData(data: Readonly<Record<string, string>>, source: string): PublicKeyMaterial[] {
  const keys = Object.keys(data)
    .filter((name) => name.endsWith('.pub'))
    .sort()
    .map((name) => parsePublicKey(name, data[name] ?? '', source));
  if (keys.length === 0) {
    throw new PinwardenError('PW_INPUT_INVALID', `no cosign public keys (entries ending in .pub) in ${source}`);
  }
  return keys;
}

export function parsePublicKey(name: string, pemText: string, source: string): PublicKeyMaterial {
  let key: KeyObject;
  try {
    key = createPublicKey(pemText);
  } catch {
    throw new PinwardenError('PW_INPUT_INVALID', `public key '${name}' in ${source} is not a PEM public key`);
  }
  if (!SUPPORTED_KEY_TYPES.has(key.asymmetricKeyType ?? '')) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `public key '${name}' in ${source} has unsupported type ${key.asymmetricKeyType}`,
    );
  }
  const spki = key.export({ format: 'der', type: 'spki' });
  return { name, key, spki, hint: createHash('sha256').update(spki).digest('base64') };
}

/** cosign `LoadVerifier(key, SHA256)`: raw signature over the payload bytes. */
export function verifyPayloadSignature(
  material: PublicKeyMaterial,
  payload: Uint8Array,
  signature: Uint8Array,
): boolean {
  const algorithm = material.key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  try {
    return verify(algorithm, payload, material.key, signature);
  } catch {
    return false;
  }
}

/** A sigstore-js key finder that answers with this one key whatever the hint says (each key is tried in turn). */
export function keyFinderFor(material: PublicKeyMaterial): KeyFinderFunc {
  return () => ({ publicKey: material.key, validFor: () => true });
}

/** Keys whose SPKI hash equals the bundle's hint first; the others still get a chance (hints are free text). */
export function orderByHint(keys: readonly PublicKeyMaterial[], hint: string | undefined): PublicKeyMaterial[] {
  return [...keys].sort((a, b) => Number(b.hint === hint) - Number(a.hint === hint));
}

/** Stable fingerprint of a key set, for cache keys: names and SPKI hashes, never key bytes. */
export function keySetId(keys: readonly PublicKeyMaterial[]): string {
  const listing = keys
    .map((key) => `${key.name}=${key.hint}`)
    .sort()
    .join('\n');
  return `keys:sha256:${createHash('sha256').update(listing).digest('hex')}`;
}
