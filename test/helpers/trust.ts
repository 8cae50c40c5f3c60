/**
 * The platform's cosign key, trusted by test policies (`trustedKeys`), and the tenant Secret that holds it
 * (`apps/cosign-pub`, the Secret test/helpers/admission.ts's OCIRepository names in `verify.secretRef`).
 */
import { generateKeyPairSync } from 'node:crypto';
import { publicKeyFingerprint } from '../../src/core/trust/index.ts';
import { PinwardenError } from '../../src/core/errors.ts';
import { createAdmissionVerifier, createPinFailureLog } from '../../src/flows/index.ts';
import type { PinResolver } from '../../src/flows/index.ts';
import { createMemorySecretReader } from '../../src/kube/index.ts';
import type { MemorySecrets, SecretReader } from '../../src/kube/index.ts';
import type { Repository } from '../../src/oci/index.ts';
import { admissionFlows } from '../../src/webhook/index.ts';
import { pemOfPublicKey } from './sigstore-fixtures.ts';

export const PLATFORM_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const PLATFORM_KEY_PEM = pemOfPublicKey(PLATFORM_KEY.publicKey);
export const PLATFORM_KEY_FINGERPRINT = publicKeyFingerprint(PLATFORM_KEY_PEM)!;

/** `trustedKeys: [...]` for inside `ociRepository: {…}` of a test policy. */
export const TRUSTS_PLATFORM_KEY = `trustedKeys: ["${PLATFORM_KEY_FINGERPRINT}"]`;

/** A memory Secret reader holding `apps/cosign-pub` with the platform key, plus `more`. */
export function platformKeySecrets(more: MemorySecrets['secrets'] = {}) {
  return createMemorySecretReader({
    secrets: { 'apps/cosign-pub': { data: { 'cosign.pub': PLATFORM_KEY_PEM } }, ...more },
  });
}

/**
 * The webhook's validation over one in-memory repository: a pin resolver that hands out `repository` (every
 * object is already pinned), the real verifier and the given Secrets — as `serve` wires them. Counts
 * repository hand-outs, so a test can assert that an untrusted key never led to a registry read.
 */
export function verifyingFlows(repository: Repository, secrets: SecretReader) {
  const counter = { repositoryReads: 0 };
  const pins: PinResolver = {
    resolve: async () => ({
      ok: false,
      error: new PinwardenError('PW_INTERNAL', 'the objects here are pinned already'),
    }),
    repository: async () => {
      counter.repositoryReads += 1;
      return repository;
    },
    close: () => undefined,
  };
  const verifier = createAdmissionVerifier({ pins, secrets });
  return {
    counter,
    verifier,
    flows: admissionFlows({ pins, failures: createPinFailureLog(), now: () => new Date(), verifier, secrets }),
  };
}
