// Issue #7 item 1, attack 2: a tenant brings their own Sigstore. A self-made Fulcio-like CA issues a
// certificate for an identity the policy allows, a self-made Rekor key logs the signature, and the
// `trusted_root.json` naming both sits in the Secret `verify.trustedRootSecretRef` names. Before trustedRoots
// that root was honoured unchecked; now it counts only when its sha256 is one the policy lists, at /validate
// and in verifyAtAdmission alike. The platform's own private root, listed in the policy, still works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Name } from '../../src/core/trust/index.ts';
import { MemoryRepository } from '../../src/oci/index.ts';
import { admissionReview, ociRepository } from '../helpers/admission.ts';
import { policyFrom } from '../helpers/rule-tester.ts';
import {
  attachBundle,
  attachLegacy,
  dsseBundle,
  legacySignature,
  pushArtifact,
} from '../helpers/sigstore-fixtures-sign.ts';
import { createSigstoreFixture, mintLeaf } from '../helpers/sigstore-fixtures.ts';
import { platformKeySecrets, verifyingFlows } from '../helpers/trust.ts';
import { startHarness } from '../integration/webhook/harness.ts';

const platformSigstore = await createSigstoreFixture();
const tenantSigstore = await createSigstoreFixture();
const PLATFORM_ROOT = sha256Name(platformSigstore.trustedRootBytes);
const IDENTITY = {
  issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
  subject: '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v',
};
const ALLOWED = `allowedIdentities: [{issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/'}]`;
const TRUSTS_PLATFORM_ROOT = `ociRepository: {${ALLOWED}, trustedRoots: ["${PLATFORM_ROOT}"], verifyAtAdmission: true}`;
const TRUSTS_NO_ROOT = `ociRepository: {${ALLOWED}, verifyAtAdmission: true}`;

const repo = new MemoryRepository('registry.test/acme/app');
// The tenant's "Fulcio" certifies exactly the identity the policy allows (a release workflow of acme/app).
const byTenant = await pushArtifact(repo, 'tenant', 'signed through the tenant sigstore');
const tenantLeaf = await mintLeaf(tenantSigstore.ca);
await attachBundle(repo, byTenant, dsseBundle(tenantLeaf, byTenant.digest, { rekor: tenantSigstore.rekor }));
await attachLegacy(repo, byTenant, [
  legacySignature(tenantLeaf, repo.name, byTenant.digest, { rekor: tenantSigstore.rekor }),
]);
const byPlatform = await pushArtifact(repo, 'platform', 'signed through the platform sigstore');
const platformLeaf = await mintLeaf(platformSigstore.ca);
await attachBundle(repo, byPlatform, dsseBundle(platformLeaf, byPlatform.digest, { rekor: platformSigstore.rekor }));

const secrets = () =>
  platformKeySecrets({
    'apps/tenant-root': { data: { 'trusted_root.json': tenantSigstore.trustedRootBytes } },
    'apps/platform-root': { data: { 'trusted_root.json': platformSigstore.trustedRootBytes } },
    // The platform's root, re-serialised with one more byte: another file, so another root.
    'apps/platform-root-edited': {
      data: { 'trusted_root.json': Buffer.concat([platformSigstore.trustedRootBytes, Buffer.from('\n')]) },
    },
  });
const objectFor = (digest: string, rootSecret: string) =>
  ociRepository({
    url: `oci://${repo.name}`,
    ref: { tag: 'v1', digest },
    verify: { provider: 'cosign', matchOIDCIdentity: [IDENTITY], trustedRootSecretRef: { name: rootSecret } },
  });

test('attack: a tenant trusted root is denied at /validate, whether the policy lists other roots or none', async () => {
  for (const policy of [TRUSTS_PLATFORM_ROOT, TRUSTS_NO_ROOT]) {
    const { flows, counter } = verifyingFlows(repo, secrets());
    const { response } = await startHarness({ policy, flows }).review(
      '/validate',
      admissionReview(objectFor(byTenant.digest, 'tenant-root')),
    );
    assert.equal(response.allowed, false, policy);
    assert.match(response.status.message, /\[trusted-root-not-allowed\] spec\.verify\.trustedRootSecretRef: /);
    assert.doesNotMatch(
      response.status.message,
      /sha256:[a-f0-9]{16}/,
      'the digest read from the Secret is not shown back',
    );
    assert.equal(counter.repositoryReads, 0);
  }
});

test('attack: verifyAtAdmission refuses the tenant root (and an edited copy of a trusted one) before any registry read', async () => {
  const { verifier, counter } = verifyingFlows(repo, secrets());
  const call = { signal: AbortSignal.timeout(5000) };
  for (const rootSecret of ['tenant-root', 'platform-root-edited']) {
    const outcome = await verifier.verify(
      objectFor(byTenant.digest, rootSecret),
      policyFrom(TRUSTS_PLATFORM_ROOT),
      call,
    );
    assert.equal(outcome?.ok === false ? outcome.error.code : 'verified', 'PW_TRUST_ROOT_NOT_TRUSTED', rootSecret);
  }
  assert.equal(counter.repositoryReads, 0);
});

test('attack: in warn mode the tenant root is still never used to verify', async () => {
  const { flows } = verifyingFlows(repo, secrets());
  const result = await flows.validate(
    { object: objectFor(byTenant.digest, 'tenant-root') },
    policyFrom(`mode: warn\n${TRUSTS_PLATFORM_ROOT}`),
  );
  assert.equal(
    result.verification?.ok === false ? result.verification.error.code : 'verified',
    'PW_TRUST_ROOT_NOT_TRUSTED',
  );
});

test("control: the platform root the policy lists verifies the platform signature; it does not verify the tenant's", async () => {
  const { flows } = verifyingFlows(repo, secrets());
  const h = startHarness({ policy: TRUSTS_PLATFORM_ROOT, flows });
  const signed = await h.review('/validate', admissionReview(objectFor(byPlatform.digest, 'platform-root')));
  assert.equal(signed.response.allowed, true, JSON.stringify(signed.response));
  const forged = await h.review('/validate', admissionReview(objectFor(byTenant.digest, 'platform-root')));
  assert.equal(forged.response.allowed, false);
  assert.match(forged.response.status.message, /\[signature-required\]/);
});

test('control: without trustedRootSecretRef the public-good root verifies, so the tenant chain is unknown there', async () => {
  const { verifier } = verifyingFlows(repo, secrets());
  const object = ociRepository({
    url: `oci://${repo.name}`,
    ref: { tag: 'v1', digest: byTenant.digest },
    verify: { provider: 'cosign', matchOIDCIdentity: [IDENTITY] },
  });
  const outcome = await verifier.verify(object, policyFrom(TRUSTS_NO_ROOT), { signal: AbortSignal.timeout(5000) });
  assert.equal(outcome?.ok, false);
  assert.equal(outcome?.ok === false ? outcome.error.kind : undefined, 'verification');
});
