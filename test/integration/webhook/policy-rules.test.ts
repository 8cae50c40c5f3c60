// spec.rules at the webhook: /mutate and /validate select the rule with the same core function as `check`,
// read Namespace labels for namespaceSelector rules, and name the deciding rule in denials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPinFailureLog } from '../../../src/flows/index.ts';
import { cachingNamespaceReader, createMemoryNamespaceReader } from '../../../src/kube/index.ts';
import { admissionFlows } from '../../../src/webhook/index.ts';
import { DIGEST_A, admissionReview, decodePatch, fakePinResolver, ociRepository } from '../../helpers/admission.ts';
import { policyFrom } from '../../helpers/rule-tester.ts';
import { PLATFORM_KEY_FINGERPRINT, platformKeySecrets } from '../../helpers/trust.ts';
import { NOW, startHarness } from './harness.ts';

const RULES = policyFrom(`rules:
  - name: legacy
    match: {namespaces: [legacy]}
    ociRepository: {mutate: {tagToDigest: false}, requireDigest: false, trustedKeys: ['${PLATFORM_KEY_FINGERPRINT}']}
  - name: tenants
    match: {namespaceSelector: {matchLabels: {pinwarden.dev/tenant: 'true'}}}
    ociRepository: {requireVerify: true}
ociRepository: {trustedKeys: ['${PLATFORM_KEY_FINGERPRINT}']}`);

function harness(namespaces?: Record<string, Record<string, string>>) {
  const reader = namespaces ? createMemoryNamespaceReader(namespaces) : undefined;
  const flows = admissionFlows({
    pins: fakePinResolver(),
    failures: createPinFailureLog(),
    now: () => NOW,
    secrets: platformKeySecrets(),
    ...(reader ? { namespaces: cachingNamespaceReader(reader) } : {}),
  });
  return { h: startHarness({ policy: RULES, flows }), reader };
}

test('/mutate takes pinning settings from the rule that decides the object', async () => {
  const { h } = harness({ legacy: {}, apps: {} });
  const legacy = await h.review('/mutate', admissionReview(ociRepository({}, { namespace: 'legacy' })));
  assert.equal(legacy.response.patch, undefined, 'rule legacy turns tagToDigest off');
  const apps = await h.review('/mutate', admissionReview(ociRepository({}, { namespace: 'apps' })));
  assert.equal(decodePatch(apps.response)[0]?.value, DIGEST_A);
});

test('/validate names the deciding rule in a denial; Namespace labels are read once and cached', async () => {
  const { h, reader } = harness({ 'team-a': { 'pinwarden.dev/tenant': 'true' } });
  const object = ociRepository({ verify: undefined, ref: { digest: DIGEST_A } }, { namespace: 'team-a' });
  const first = await h.review('/validate', admissionReview(object));
  assert.equal(first.response.allowed, false);
  assert.match(
    first.response.status.message,
    /^pinwarden denied OCIRepository\/team-a\/podinfo \(rule tenants\):\n\[verify-required\]/,
  );
  assert.equal(h.logs.at(-1)?.policyRule, 'tenants', 'the log line names the deciding rule');
  await h.review('/validate', admissionReview(object));
  await h.review('/mutate', admissionReview(object));
  assert.equal(reader?.reads, 1);
});

test('a flat-policy denial names the default rule', async () => {
  const h = startHarness({ policy: `ociRepository: {trustedKeys: ['${PLATFORM_KEY_FINGERPRINT}']}` });
  const denied = await h.review(
    '/validate',
    admissionReview(ociRepository({ verify: undefined, ref: { digest: DIGEST_A } })),
  );
  assert.match(denied.response.status.message, /^pinwarden denied OCIRepository\/apps\/podinfo \(rule default\):/);
});

test('a namespaceSelector rule that cannot be judged fails closed at /validate', async () => {
  const object = ociRepository({ ref: { digest: DIGEST_A } }, { namespace: 'team-b' });
  for (const [label, namespaces] of [
    ['no Namespace reader', undefined],
    ['the Namespace does not exist', {}],
  ] as const) {
    const { h } = harness(namespaces);
    const answer = await h.review('/validate', admissionReview(object));
    assert.equal(answer.response.allowed, false, label);
    assert.match(
      answer.response.status.message,
      /\[policy-rule-unjudged\] metadata\.namespace: the labels of namespace team-b are unknown here, so rule 'tenants'/,
      label,
    );
  }
  const { h } = harness({ apps: { other: 'x' } });
  const known = await h.review('/validate', admissionReview(ociRepository({ ref: { digest: DIGEST_A } })));
  assert.equal(
    known.response.allowed,
    true,
    'labels known, rule tenants does not fit, default decides (its key is trusted)',
  );
});

test("the identity worker decides against the deciding rule's identities, never another rule's", async () => {
  const { createIdentityOffload, buildServer, createWebhookMetrics } = await import('../../../src/webhook/index.ts');
  const { createLogger, staticPolicy } = await import('../../../src/runtime/index.ts');
  const { Writable } = await import('node:stream');
  const policy = policyFrom(`rules:
  - name: vendor
    match: {urls: ['oci://ghcr.io/vendor/']}
    ociRepository:
      allowedIdentities: [{issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/vendor/'}]
ociRepository:
  allowedIdentities: [{issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/'}]`);
  const identityOffload = createIdentityOffload();
  const flows = admissionFlows({ pins: fakePinResolver(), failures: createPinFailureLog(), now: () => NOW });
  const app = buildServer({
    policy: staticPolicy(policy),
    flows,
    identityOffload,
    logger: createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) }),
    metrics: createWebhookMetrics({ defaultMetrics: false }),
  });
  try {
    const keyless = (url: string, subject: string) =>
      ociRepository({
        url,
        ref: { digest: DIGEST_A },
        verify: {
          provider: 'cosign',
          matchOIDCIdentity: [{ issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject }],
        },
      });
    const answer = async (object: unknown) =>
      JSON.parse(
        (await app.inject({ method: 'POST', url: '/validate', payload: admissionReview(object as never) })).body,
      ).response;
    // Fresh patterns (never decided in this process), so the worker decides them.
    const vendorSubject = `^https://github\\.com/vendor/chart-${Date.now()}/\\.github/workflows/release\\.yml$`;
    assert.equal(
      (await answer(keyless('oci://ghcr.io/vendor/chart', vendorSubject))).allowed,
      true,
      'rule vendor allows its publisher',
    );
    const acmeSubject = `^https://github\\.com/acme/app-${Date.now()}/\\.github/workflows/release\\.yml$`;
    const denied = await answer(keyless('oci://ghcr.io/vendor/chart', acmeSubject));
    assert.equal(denied.allowed, false, "rule vendor does not allow the default rule's identities");
    assert.match(denied.status.message, /\(rule vendor\):\n\[identity-not-allowed\]/);
    assert.equal(
      (await answer(keyless('oci://ghcr.io/acme/app', acmeSubject))).allowed,
      true,
      'the default rule allows acme',
    );
  } finally {
    await app.close();
    await identityOffload.close();
  }
});
