// verifyAtAdmission end to end: a real registry, a cosign-format key-based signature attached the way cosign
// attaches it (`sha256-<hex>.sig`), the public key in the object's `verify.secretRef` Secret, /validate.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createMemorySecretReader } from '../../../src/kube/index.ts';
import {
  clusterAccess,
  createAdmissionVerifier,
  createPinFailureLog,
  createPinResolver,
} from '../../../src/flows/index.ts';
import type { PinResolver } from '../../../src/flows/index.ts';
import { HttpRepository, parseReference } from '../../../src/oci/index.ts';
import type { Descriptor } from '../../../src/oci/index.ts';
import { admissionFlows } from '../../../src/webhook/index.ts';
import { admissionReview, ociRepository } from '../../helpers/admission.ts';
import { startCountingProxy } from '../../helpers/counting-proxy.ts';
import type { CountingProxy } from '../../helpers/counting-proxy.ts';
import { startRegistry } from '../../helpers/registry.ts';
import type { TestRegistry } from '../../helpers/registry.ts';
import { attachLegacy, legacySignature, pushArtifact } from '../../helpers/sigstore-fixtures-sign.ts';
import { pemOfPublicKey } from '../../helpers/sigstore-fixtures.ts';
import { startHarness } from './harness.ts';
import { PLATFORM_KEY, TRUSTS_PLATFORM_KEY } from '../../helpers/trust.ts';

const POLICY = `ociRepository: {${TRUSTS_PLATFORM_KEY}, allowInsecure: true, verifyAtAdmission: true}\nregistry: {timeoutSeconds: 5, allowNetworks: ["127.0.0.0/8", "::1/128"]}`;
const signer = PLATFORM_KEY;
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let registry: TestRegistry;
let proxy: CountingProxy;
let signed: Descriptor;
let unsigned: Descriptor;
let badlySigned: Descriptor;
const resolvers: PinResolver[] = [];

before(async () => {
  registry = await startRegistry({ mode: 'plain' });
  proxy = await startCountingProxy(registry.url);
  const repo = new HttpRepository(parseReference(`oci://${proxy.host}/acme/signed`), { insecure: true });
  try {
    signed = await pushArtifact(repo, 'v1', 'signed content');
    await attachLegacy(repo, signed, [legacySignature(signer, repo.name, signed.digest)]);
    unsigned = await pushArtifact(repo, 'v2', 'unsigned content');
    badlySigned = await pushArtifact(repo, 'v3', 'content signed by someone else');
    await attachLegacy(repo, badlySigned, [legacySignature(stranger, repo.name, badlySigned.digest)]);
  } finally {
    repo.close();
  }
});

after(async () => {
  for (const resolver of resolvers) resolver.close();
  await proxy?.stop();
  await registry?.stop();
});

function harness() {
  const secrets = createMemorySecretReader({
    secrets: { 'apps/cosign-pub': { data: { 'cosign.pub': pemOfPublicKey(signer.publicKey) } } },
  });
  const pins = createPinResolver({ access: clusterAccess(secrets) });
  resolvers.push(pins);
  const verifier = createAdmissionVerifier({ pins, secrets });
  return startHarness({
    policy: POLICY,
    flows: admissionFlows({ pins, failures: createPinFailureLog(), now: () => new Date(), verifier, secrets }),
  });
}

const objectFor = (digest: string) =>
  ociRepository({ url: `oci://${proxy.host}/acme/signed`, insecure: true, ref: { tag: 'v1', digest } });

test('a signature made with the key in verify.secretRef admits; the answer is cached (no second registry trip)', async () => {
  const h = harness();
  proxy.reset();
  const first = await h.review('/validate', admissionReview(objectFor(signed.digest)));
  assert.equal(first.response.allowed, true, JSON.stringify(first.response));
  const trips = [...proxy.counts.values()].reduce((sum, n) => sum + n, 0);
  assert.ok(trips > 0);
  const second = await h.review('/validate', admissionReview(objectFor(signed.digest)));
  assert.equal(second.response.allowed, true);
  assert.equal(
    [...proxy.counts.values()].reduce((sum, n) => sum + n, 0),
    trips,
    'served from the verification cache',
  );
});

test('no signature: denied with signature-required (PW_SIGNATURE_NOT_FOUND)', async () => {
  const { response } = await harness().review('/validate', admissionReview(objectFor(unsigned.digest)));
  assert.equal(response.allowed, false);
  assert.match(response.status.message, /\[signature-required\] spec\.verify: [^\n]*\[PW_SIGNATURE_NOT_FOUND\]/);
});

test('signed with another key: denied with signature-required', async () => {
  const { response } = await harness().review('/validate', admissionReview(objectFor(badlySigned.digest)));
  assert.equal(response.allowed, false);
  assert.match(response.status.message, /\[signature-required\]/);
  assert.doesNotMatch(response.status.message, /PW_SIGNATURE_NOT_FOUND/);
});
