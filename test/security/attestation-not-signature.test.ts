// Issue #7 item 8: cosign v3 pushes an image signature and an attestation as the same kind of referrer (a
// v0.3 DSSE bundle); only the statement's predicate type tells them apart. An SLSA provenance or a
// vulnerability scan signed by an allowed identity (or a trusted key) says something about the artifact, but
// it is not a signature of it. One rule in src/signature, so `pinwarden verify`, verifyAtAdmission and the
// controller (all through verifyArtifactSignature) agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Name } from '../../src/core/trust/index.ts';
import { MemoryRepository } from '../../src/oci/index.ts';
import type { Descriptor } from '../../src/oci/index.ts';
import { fixedTrustRootSource, parseTrustedRoot, verifyArtifactSignature } from '../../src/signature/index.ts';
import { admissionReview, ociRepository } from '../helpers/admission.ts';
import {
  SLSA_PROVENANCE_PREDICATE,
  attachBundle,
  dsseBundle,
  pushArtifact,
} from '../helpers/sigstore-fixtures-sign.ts';
import { createSigstoreFixture, mintLeaf } from '../helpers/sigstore-fixtures.ts';
import {
  PLATFORM_KEY,
  PLATFORM_KEY_PEM,
  TRUSTS_PLATFORM_KEY,
  platformKeySecrets,
  verifyingFlows,
} from '../helpers/trust.ts';
import { startHarness } from '../integration/webhook/harness.ts';

const VULN_PREDICATE = 'https://cosign.sigstore.dev/attestation/vuln/v1';
const sigstore = await createSigstoreFixture();
const IDENTITY = {
  issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
  subject: '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v',
};
const ALLOWED = `allowedIdentities: [{issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/'}]`;
const POLICY = `ociRepository: {${ALLOWED}, ${TRUSTS_PLATFORM_KEY}, trustedRoots: ["${sha256Name(sigstore.trustedRootBytes)}"], verifyAtAdmission: true}`;

const repo = new MemoryRepository('registry.test/acme/app');
const leaf = await mintLeaf(sigstore.ca);
const attest = async (artifact: Descriptor, signer: Parameters<typeof dsseBundle>[0], type: string, rekor = true) =>
  attachBundle(
    repo,
    artifact,
    dsseBundle(signer, artifact.digest, rekor ? { rekor: sigstore.rekor } : {}, [artifact.digest], {
      type,
      body: { buildType: 'x' },
    }),
    type,
  );

const attestedOnly = await pushArtifact(
  repo,
  'attested',
  'only attestations, by the allowed identity and the trusted key',
);
await attest(attestedOnly, leaf, SLSA_PROVENANCE_PREDICATE);
await attest(attestedOnly, leaf, VULN_PREDICATE);
await attest(attestedOnly, PLATFORM_KEY, SLSA_PROVENANCE_PREDICATE, false);
const attestedAndSigned = await pushArtifact(repo, 'signed', 'an attestation and a real signature');
await attest(attestedAndSigned, leaf, SLSA_PROVENANCE_PREDICATE);
await attachBundle(repo, attestedAndSigned, dsseBundle(leaf, attestedAndSigned.digest, { rekor: sigstore.rekor }));

const secrets = () => platformKeySecrets({ 'apps/root': { data: { 'trusted_root.json': sigstore.trustedRootBytes } } });
const keyless = (digest: string) =>
  ociRepository({
    url: `oci://${repo.name}`,
    ref: { tag: 'v1', digest },
    verify: { provider: 'cosign', matchOIDCIdentity: [IDENTITY], trustedRootSecretRef: { name: 'root' } },
  });
const keyed = (digest: string) =>
  ociRepository({
    url: `oci://${repo.name}`,
    ref: { tag: 'v1', digest },
    verify: { provider: 'cosign', secretRef: { name: 'cosign-pub' } },
  });
const call = () => ({ signal: AbortSignal.timeout(10_000) });

test('attack: attestations by the allowed identity are not a signature for verify (verifyArtifactSignature)', async () => {
  const options = {
    call: call(),
    trustRoots: fixedTrustRootSource(parseTrustedRoot(sigstore.trustedRootBytes, 'test root')),
  };
  await assert.rejects(
    verifyArtifactSignature(repo, attestedOnly, { provider: 'cosign', matchOIDCIdentity: [IDENTITY] }, options),
    (error: { code?: string; message: string }) => {
      assert.equal(error.code, 'PW_SIGNATURE_INVALID');
      assert.match(
        error.message,
        /is an attestation \(predicate type "https:\/\/slsa\.dev\/provenance\/v1"\), not a cosign signature/,
      );
      assert.match(error.message, /vuln\/v1/);
      return true;
    },
  );
});

test('attack: an attestation signed with a trusted key is not a key-based signature either', async () => {
  const verifying = verifyArtifactSignature(
    repo,
    attestedOnly,
    { provider: 'cosign', secretRef: { name: 'cosign-pub' } },
    { call: call(), secrets: async () => ({ 'cosign.pub': PLATFORM_KEY_PEM }) },
  );
  await assert.rejects(
    verifying,
    (error: { code?: string; message: string }) =>
      error.code === 'PW_SIGNATURE_INVALID' && /not a cosign signature/.test(error.message),
  );
});

test('attack: verifyAtAdmission denies an artifact that carries only attestations (keyless and key-based)', async () => {
  const { flows } = verifyingFlows(repo, secrets());
  const h = startHarness({ policy: POLICY, flows });
  for (const object of [keyless(attestedOnly.digest), keyed(attestedOnly.digest)]) {
    const { response } = await h.review('/validate', admissionReview(object));
    assert.equal(response.allowed, false);
    assert.match(
      response.status.message,
      /\[signature-required\] spec\.verify: .*attestation.*\[PW_SIGNATURE_INVALID\]/s,
    );
  }
});

test('control: next to an attestation, a real cosign signature verifies, at admission and in verify', async () => {
  const { flows } = verifyingFlows(repo, secrets());
  const { response } = await startHarness({ policy: POLICY, flows }).review(
    '/validate',
    admissionReview(keyless(attestedAndSigned.digest)),
  );
  assert.equal(response.allowed, true, JSON.stringify(response));
  const options = {
    call: call(),
    trustRoots: fixedTrustRootSource(parseTrustedRoot(sigstore.trustedRootBytes, 'test root')),
  };
  const verified = await verifyArtifactSignature(
    repo,
    attestedAndSigned,
    { provider: 'cosign', matchOIDCIdentity: [IDENTITY] },
    options,
  );
  assert.equal(verified.kind, 'bundle');
});
