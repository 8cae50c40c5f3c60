// Issue #7 item 1, attack 1: a tenant signs with a key they made and puts its public half in the Secret their
// OCIRepository names in `verify.secretRef`. Before trustedKeys, any key there counted ("verified"). Now every
// key in the Secret must be one the policy lists: /validate denies, and verifyAtAdmission never verifies with
// it (not even in warn mode, where the rules only warn).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createPinFailureLog, validateObject } from '../../src/flows/index.ts';
import { MemoryRepository } from '../../src/oci/index.ts';
import { admissionReview, fakePinResolver, ociRepository } from '../helpers/admission.ts';
import { policyFrom } from '../helpers/rule-tester.ts';
import {
  attachBundle,
  attachLegacy,
  dsseBundle,
  legacySignature,
  pushArtifact,
} from '../helpers/sigstore-fixtures-sign.ts';
import { pemOfPublicKey } from '../helpers/sigstore-fixtures.ts';
import {
  PLATFORM_KEY,
  PLATFORM_KEY_PEM,
  TRUSTS_PLATFORM_KEY,
  platformKeySecrets,
  verifyingFlows,
} from '../helpers/trust.ts';
import { startHarness } from '../integration/webhook/harness.ts';

const tenant = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const TENANT_PEM = pemOfPublicKey(tenant.publicKey);
const POLICY = `ociRepository: {${TRUSTS_PLATFORM_KEY}, verifyAtAdmission: true}`;

const repo = new MemoryRepository('registry.test/acme/app');
const byTenant = await pushArtifact(repo, 'tenant', 'signed by the tenant');
await attachLegacy(repo, byTenant, [legacySignature(tenant, repo.name, byTenant.digest)]);
await attachBundle(repo, byTenant, dsseBundle(tenant, byTenant.digest));
const byPlatform = await pushArtifact(repo, 'platform', 'signed by the platform');
await attachLegacy(repo, byPlatform, [legacySignature(PLATFORM_KEY, repo.name, byPlatform.digest)]);

const objectFor = (digest: string, secret = 'cosign-pub') =>
  ociRepository({
    url: `oci://${repo.name}`,
    ref: { tag: 'v1', digest },
    verify: { provider: 'cosign', secretRef: { name: secret } },
  });
const tenantSecrets = () =>
  platformKeySecrets({
    'apps/own-key': { data: { 'cosign.pub': TENANT_PEM } },
    // cosign accepts a signature from ANY *.pub entry: one trusted key next to the tenant's proves nothing.
    'apps/mixed': { data: { 'platform.pub': PLATFORM_KEY_PEM, 'tenant.pub': TENANT_PEM } },
  });

test("attack: a key of the tenant's own in verify.secretRef is denied at /validate (key-not-trusted)", async () => {
  const { flows, counter } = verifyingFlows(repo, tenantSecrets());
  const h = startHarness({ policy: POLICY, flows });
  for (const secret of ['own-key', 'mixed']) {
    const { response } = await h.review('/validate', admissionReview(objectFor(byTenant.digest, secret)));
    assert.equal(response.allowed, false, secret);
    assert.match(
      response.status.message,
      /\[key-not-trusted\] spec\.verify\.secretRef: 1 of the \d public keys in Secret \S+ are not in spec\.ociRepository\.trustedKeys/,
    );
    assert.doesNotMatch(
      response.status.message,
      /BEGIN PUBLIC KEY|sha256:[a-f0-9]{16}/,
      'nothing read from the Secret is shown back',
    );
  }
  assert.equal(counter.repositoryReads, 0, 'denied by the rules: the registry is never asked');
});

test('attack: verifyAtAdmission refuses the tenant key before any registry read, even when called directly', async () => {
  const { verifier, counter } = verifyingFlows(repo, tenantSecrets());
  const call = { signal: AbortSignal.timeout(5000) };
  for (const secret of ['own-key', 'mixed']) {
    const outcome = await verifier.verify(objectFor(byTenant.digest, secret), policyFrom(POLICY), call);
    assert.equal(outcome?.ok, false, secret);
    assert.equal(outcome.ok ? undefined : outcome.error.code, 'PW_KEY_NOT_TRUSTED');
  }
  assert.equal(counter.repositoryReads, 0);
});

test('attack: in warn mode the rules only warn, but verification still never trusts the tenant key', async () => {
  const { flows } = verifyingFlows(repo, tenantSecrets());
  const result = await flows.validate(
    { object: objectFor(byTenant.digest, 'own-key') },
    policyFrom(`mode: warn\n${POLICY}`),
  );
  assert.equal(result.verification?.ok, false);
  assert.equal(result.verification?.ok === false ? result.verification.error.code : undefined, 'PW_KEY_NOT_TRUSTED');
  assert.deepEqual(result.evaluation.findings.map((finding) => finding.ruleId).sort(), [
    'key-not-trusted',
    'signature-required',
  ]);
});

test("control: the platform key in the Secret verifies at admission; the tenant's signature is not one", async () => {
  const { flows } = verifyingFlows(repo, tenantSecrets());
  const h = startHarness({ policy: POLICY, flows });
  const signed = await h.review('/validate', admissionReview(objectFor(byPlatform.digest)));
  assert.equal(signed.response.allowed, true, JSON.stringify(signed.response));
  const forged = await h.review('/validate', admissionReview(objectFor(byTenant.digest)));
  assert.equal(forged.response.allowed, false);
  assert.match(forged.response.status.message, /\[signature-required\]/);
});

test('without a Secret reader (check --resolve) the same object only warns that the keys could not be checked', () => {
  const result = validateObject(
    { object: objectFor(byTenant.digest, 'own-key') },
    policyFrom(`ociRepository: {${TRUSTS_PLATFORM_KEY}}`),
    {
      pins: fakePinResolver(),
      failures: createPinFailureLog(),
      now: () => new Date(),
    },
  );
  assert.ok(!(result instanceof Promise));
  assert.equal(result.evaluation.verdict, 'warn');
  assert.match(result.evaluation.findings[0]?.message ?? '', /could not be checked here/);
});
