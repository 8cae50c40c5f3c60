/**
 * The platform's cosign key, trusted by test policies (`trustedKeys`), and the tenant Secret that holds it
 * (`apps/cosign-pub`, the Secret test/helpers/admission.ts's OCIRepository names in `verify.secretRef`).
 */
import { generateKeyPairSync } from 'node:crypto';
import { publicKeyFingerprint } from '../../src/core/trust/index.ts';
import { createMemorySecretReader } from '../../src/kube/index.ts';
import type { MemorySecrets } from '../../src/kube/index.ts';
import { pemOfPublicKey } from './sigstore-fixtures.ts';

export const PLATFORM_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const PLATFORM_KEY_PEM = pemOfPublicKey(PLATFORM_KEY.publicKey);
export const PLATFORM_KEY_FINGERPRINT = publicKeyFingerprint(PLATFORM_KEY_PEM)!;

/** `trustedKeys: [...]` for inside `ociRepository: {…}` of a test policy. */
export const TRUSTS_PLATFORM_KEY = `trustedKeys: ["${PLATFORM_KEY_FINGERPRINT}"]`;

/** A memory Secret reader holding `apps/cosign-pub` with the platform key, plus `more`. */
export function platformKeySecrets(more: MemorySecrets['secrets'] = {}) {
  return createMemorySecretReader({ secrets: { 'apps/cosign-pub': { data: { 'cosign.pub': PLATFORM_KEY_PEM } }, ...more } });
}
