// /mutate and /validate with AdmissionReviews exactly as kube-apiserver sends them (inject(), no sockets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch } from '../../../src/core/mutation/index.ts';
import {
  DIGEST_A,
  DIGEST_B,
  admissionReview,
  decodePatch,
  fakePinResolver,
  ociRepository,
  serverSideApplied,
} from '../../helpers/admission.ts';
import { createManualClock } from '../../../src/runtime/index.ts';
import { KEY_BASED, startHarness } from './harness.ts';
import { TRUSTS_PLATFORM_KEY } from '../../helpers/trust.ts';

const PINNED_AT = '2026-03-01T12:00:00Z';

test('CREATE: /mutate pins the tag, keeps it, echoes the uid; /validate admits the mutated object', async () => {
  const h = startHarness({ policy: KEY_BASED });
  const object = ociRepository();
  const review = admissionReview(object, { uid: 'c0ffee-1' });
  const mutated = await h.review('/mutate', review);
  assert.equal(mutated.status, 200);
  assert.equal(mutated.body.apiVersion, 'admission.k8s.io/v1');
  assert.equal(mutated.body.kind, 'AdmissionReview');
  assert.equal(mutated.response.uid, 'c0ffee-1');
  assert.equal(mutated.response.allowed, true);
  assert.equal(mutated.response.patchType, 'JSONPatch');
  assert.deepEqual(decodePatch(mutated.response), [
    { op: 'add', path: '/spec/ref/digest', value: DIGEST_A },
    {
      op: 'add',
      path: '/metadata/annotations',
      value: { 'pinwarden.dev/pinned-from': 'tag:6.6.2', 'pinwarden.dev/pinned-at': PINNED_AT },
    },
  ]);
  const admitted = applyPatch(object, decodePatch(mutated.response) as never);
  assert.equal(admitted.spec.ref.tag, '6.6.2');
  const validated = await h.review('/validate', admissionReview(admitted, { uid: 'c0ffee-2' }));
  assert.equal(validated.response.uid, 'c0ffee-2');
  assert.equal(validated.response.allowed, true);
  assert.equal(validated.response.warnings, undefined);
});

test('second /mutate pass over the mutated object (reinvocation) patches nothing', async () => {
  const h = startHarness({ policy: KEY_BASED });
  const object = ociRepository();
  const first = await h.review('/mutate', admissionReview(object));
  const again = await h.review('/mutate', admissionReview(applyPatch(object, decodePatch(first.response) as never)));
  assert.equal(again.response.allowed, true);
  assert.equal(again.response.patch, undefined);
  assert.equal(again.response.patchType, undefined);
});

test('dryRun: true gets the same answer as the real request', async () => {
  const h = startHarness({ policy: KEY_BASED });
  const object = ociRepository();
  const real = await h.review('/mutate', admissionReview(object, { uid: 'same' }));
  const dry = await h.review('/mutate', admissionReview(object, { uid: 'same', dryRun: true }));
  assert.deepEqual(dry.response, real.response);
  const realDeny = await h.review('/validate', admissionReview(ociRepository({ verify: undefined }), { uid: 'v' }));
  const dryDeny = await h.review(
    '/validate',
    admissionReview(ociRepository({ verify: undefined }), { uid: 'v', dryRun: true }),
  );
  assert.deepEqual(dryDeny.response, realDeny.response);
});

test('UPDATE with sticky pinning keeps the digest of oldObject and does not ask the registry', async () => {
  const pins = fakePinResolver(() => ({ ok: true, digest: DIGEST_B, tag: 'x' }));
  const h = startHarness({ policy: KEY_BASED, pins });
  const oldObject = ociRepository(
    { ref: { tag: '6.6.2', digest: DIGEST_A } },
    { annotations: { 'pinwarden.dev/pinned-from': 'tag:6.6.2', 'pinwarden.dev/pinned-at': '2026-01-01T00:00:00Z' } },
  );
  const object = serverSideApplied(ociRepository());
  const mutated = await h.review('/mutate', admissionReview(object, { operation: 'UPDATE', oldObject }));
  assert.deepEqual(decodePatch(mutated.response), [
    { op: 'add', path: '/spec/ref/digest', value: DIGEST_A },
    {
      op: 'add',
      path: '/metadata/annotations',
      value: { 'pinwarden.dev/pinned-from': 'tag:6.6.2', 'pinwarden.dev/pinned-at': '2026-01-01T00:00:00Z' },
    },
  ]);
  assert.equal(pins.calls.length, 0);
});

test('UPDATE with pinning: follow re-resolves the unchanged tag', async () => {
  const pins = fakePinResolver(() => ({ ok: true, digest: DIGEST_B, tag: 'x' }));
  const h = startHarness({ policy: `ociRepository: {${TRUSTS_PLATFORM_KEY}, pinning: follow}`, pins });
  const oldObject = ociRepository({ ref: { tag: '6.6.2', digest: DIGEST_A } });
  const mutated = await h.review('/mutate', admissionReview(ociRepository(), { operation: 'UPDATE', oldObject }));
  assert.equal(decodePatch(mutated.response)[0]?.value, DIGEST_B);
  assert.equal(pins.calls.length, 1);
});

test('options (CreateOptions / UpdateOptions / PatchOptions of a server-side apply) and userInfo never change the answer', async () => {
  const h = startHarness({ policy: KEY_BASED });
  const object = serverSideApplied(ociRepository());
  const variants = [
    { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl', fieldValidation: 'Strict' },
    { kind: 'PatchOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kustomize-controller', force: true },
    { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', dryRun: ['All'] },
  ];
  const answers = [];
  for (const options of variants)
    answers.push((await h.review('/mutate', admissionReview(object, { uid: 'u', options }))).response);
  for (const answer of answers) assert.deepEqual(answer, answers[0]);
  const patched = applyPatch(object, decodePatch(answers[0]) as never);
  assert.deepEqual(patched.metadata.managedFields, object.metadata.managedFields, 'managedFields untouched');
  assert.deepEqual(patched.metadata.labels, object.metadata.labels);
});

test('v1beta2 objects are governed like v1', async () => {
  const h = startHarness({ policy: KEY_BASED });
  const object = ociRepository({}, {}, 'source.toolkit.fluxcd.io/v1beta2');
  const mutated = await h.review('/mutate', admissionReview(object));
  assert.equal(decodePatch(mutated.response)[0]?.path, '/spec/ref/digest');
  const denied = await h.review(
    '/validate',
    admissionReview(ociRepository({ verify: undefined }, {}, 'source.toolkit.fluxcd.io/v1beta2')),
  );
  assert.equal(denied.response.allowed, false);
  assert.match(denied.response.status.message, /\[verify-required\] spec\.verify: /);
});

test('/validate denial: 403, every violation as [rule-id] path: message; fix: …', async () => {
  const h = startHarness();
  const object = ociRepository({ verify: undefined, insecure: true, ref: { tag: 'v1', digest: DIGEST_A } });
  const { response } = await h.review('/validate', admissionReview(object, { uid: 'deny-1' }));
  assert.equal(response.uid, 'deny-1');
  assert.equal(response.allowed, false);
  assert.equal(response.status.code, 403);
  const lines = response.status.message.split('\n').slice(1);
  assert.deepEqual(
    lines.map((line: string) => /^\[([a-z-]+)\] /.exec(line)?.[1]),
    ['verify-required', 'insecure-not-allowed'],
  );
  for (const line of lines) assert.match(line, /^\[[a-z-]+\] spec\.[a-z.]+: .+; fix: .+/);
  assert.deepEqual(h.logs.at(-1)?.ruleIds, ['verify-required', 'insecure-not-allowed']);
});

test('warn mode: allowed, one warning per violation, each at most 120 characters', async () => {
  const h = startHarness({ policy: 'mode: warn' });
  const object = ociRepository({
    verify: {
      provider: 'cosign',
      matchOIDCIdentity: [
        {
          issuer: 'https://token.actions.githubusercontent.com',
          subject:
            'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0-a-very-long-ref-name-that-goes-on',
        },
      ],
    },
    insecure: true,
  });
  const { response } = await h.review('/validate', admissionReview(object));
  assert.equal(response.allowed, true);
  assert.equal(response.status, undefined);
  assert.ok(response.warnings.length >= 3);
  for (const warning of response.warnings) {
    assert.ok(warning.length <= 120, `${warning.length}: ${warning}`);
    assert.match(warning, / \[[a-z-]+( spec\.\S+)?\]$/, 'cause first, rule id kept at the end');
  }
});

test('exempt namespace: allowed untouched by both hooks', async () => {
  const pins = fakePinResolver();
  const h = startHarness({ policy: 'exemptNamespaces: [sandbox]', pins });
  const object = ociRepository({ verify: undefined }, { namespace: 'sandbox' });
  const mutated = await h.review('/mutate', admissionReview(object));
  assert.equal(mutated.response.allowed, true);
  assert.equal(mutated.response.patch, undefined);
  const validated = await h.review('/validate', admissionReview(object));
  assert.equal(validated.response.allowed, true);
  assert.equal(pins.calls.length, 0);
});

test('kinds not governed (ConfigMap, Flux GitRepository, unknown group) are allowed untouched', async () => {
  const h = startHarness();
  const objects = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'apps' }, data: { a: 'b' } },
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'g', namespace: 'apps' },
      spec: { url: 'https://x' },
    },
    { apiVersion: 'example.com/v1', kind: 'OCIRepository', metadata: { name: 'o', namespace: 'apps' }, spec: {} },
  ];
  for (const object of objects) {
    for (const path of ['/mutate', '/validate'] as const) {
      const { status, response } = await h.review(path, admissionReview(object));
      assert.equal(status, 200);
      assert.equal(response.allowed, true);
      assert.equal(response.patch, undefined);
      assert.equal(response.warnings, undefined);
    }
  }
});

test('unknown, absent and wrongly typed fields never crash either hook', async () => {
  const h = startHarness();
  const strange: unknown[] = [
    { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'OCIRepository', metadata: { name: 'x', namespace: 'apps' } },
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'x', namespace: 'apps' },
      spec: null,
    },
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'x', namespace: 'apps', annotations: 7 },
      spec: { url: 42, ref: 'v1', verify: [1], futureField: { deep: true } },
    },
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: null,
      spec: { url: 'oci://ghcr.io/a/b', ref: { tag: ['v1'] } },
    },
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'Bucket',
      metadata: { name: 'b' },
      spec: { ignore: { not: 'a string' } },
    },
    null,
    'a string',
    [1, 2],
  ];
  for (const object of strange) {
    for (const path of ['/mutate', '/validate'] as const) {
      const { status, response } = await h.review(path, admissionReview(object as never, { uid: 'strange' }));
      assert.equal(status, 200, `${path} ${JSON.stringify(object)}`);
      assert.equal(response.uid, 'strange');
      assert.equal(typeof response.allowed, 'boolean');
    }
  }
});

test('DELETE and subresource requests are allowed untouched', async () => {
  const h = startHarness();
  const object = ociRepository({ verify: undefined });
  const deleted = await h.review('/validate', admissionReview(null, { operation: 'DELETE', oldObject: object }));
  assert.equal(deleted.response.allowed, true);
  const status = await h.review(
    '/validate',
    admissionReview(object, { operation: 'UPDATE', oldObject: object, subResource: 'status' }),
  );
  assert.equal(status.response.allowed, true);
  const mutateStatus = await h.review(
    '/mutate',
    admissionReview(object, { operation: 'UPDATE', oldObject: object, subResource: 'status' }),
  );
  assert.equal(mutateStatus.response.patch, undefined);
});

test('an internal error: /validate answers errored 500 with the uid (fail-closed), /mutate allows with a warning (fail-open)', async () => {
  const boom = async (): Promise<never> => {
    throw new TypeError('boom');
  };
  const h = startHarness({ flows: { mutate: boom, validate: boom } });
  const validated = await h.review('/validate', admissionReview(ociRepository(), { uid: 'err-1' }));
  assert.equal(validated.status, 200);
  assert.equal(validated.response.uid, 'err-1');
  assert.equal(validated.response.allowed, false);
  assert.equal(validated.response.status.code, 500);
  const mutated = await h.review('/mutate', admissionReview(ociRepository(), { uid: 'err-2' }));
  assert.equal(mutated.response.uid, 'err-2');
  assert.equal(mutated.response.allowed, true);
  assert.equal(mutated.response.patch, undefined);
  assert.match(mutated.response.warnings[0], /PW_INTERNAL/);
});

test('a library error carrying a token in its message: the answers, warnings and logs never repeat it', async () => {
  // What a library may throw: its message quotes a URL with credentials in the query string.
  const leaky = async (): Promise<never> => {
    throw new Error('request to https://registry.example/v2/token?token=s3cr3t failed, reason: socket hang up');
  };
  const h = startHarness({ flows: { mutate: leaky, validate: leaky } });
  const validated = await h.review('/validate', admissionReview(ociRepository(), { uid: 'leak-1' }));
  const mutated = await h.review('/mutate', admissionReview(ociRepository(), { uid: 'leak-2' }));
  assert.equal(validated.response.status.code, 500);
  assert.match(validated.response.status.message, /\(PW_INTERNAL\): an unexpected internal error \(Error\)/);
  assert.match(mutated.response.warnings[0], /PW_INTERNAL/);
  const everything = JSON.stringify([validated.body, mutated.body, h.logs]);
  assert.equal(everything.includes('s3cr3t'), false, everything);
  assert.ok(
    h.logs.some((line) => line.code === 'PW_INTERNAL' && line.causeType === 'Error'),
    'the failure is still logged, by type',
  );
});

/**
 * A hung flow on the manual clock: `?timeout=1s` gives an answer-by time of 1000 - 150 ms margin = 850 ms. The
 * review stays open at 849 ms and is answered by the watchdog's sweep at 850 ms, whatever the machine's load.
 */
async function hungReview(
  route: '/mutate' | '/validate',
): Promise<{ openAt849: boolean; answer: Awaited<ReturnType<ReturnType<typeof startHarness>['review']>> }> {
  const never = (): Promise<never> => new Promise(() => undefined);
  const clock = createManualClock(0);
  const h = startHarness({ flows: { mutate: never, validate: never }, clock });
  let settled = false;
  const answer = h
    .review(route, admissionReview(ociRepository(), { uid: 'slow' }), '?timeout=1s')
    .finally(() => (settled = true));
  for (let turn = 0; turn < 1000 && clock.pending === 0; turn++) await new Promise((resolve) => setImmediate(resolve));
  clock.advance(849);
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
  const openAt849 = !settled;
  clock.advance(1);
  return { openAt849, answer: await answer };
}

test('a hung /mutate is cut at the apiserver timeout: allowed unchanged with PW_DEADLINE, at the answer-by time', async () => {
  const { openAt849, answer } = await hungReview('/mutate');
  assert.equal(openAt849, true, 'answered before its answer-by time');
  assert.equal(answer.response.allowed, true);
  assert.match(answer.response.warnings[0], /\(PW_DEADLINE\)/);
});

test('a hung /validate is cut at the apiserver timeout: errored 500 PW_DEADLINE (fail-closed), at the answer-by time', async () => {
  const { openAt849, answer } = await hungReview('/validate');
  assert.equal(openAt849, true, 'answered before its answer-by time');
  assert.equal(answer.response.allowed, false);
  assert.equal(answer.response.status.code, 500);
  assert.match(answer.response.status.message, /\(PW_DEADLINE\)/);
});

test('metrics count reviews by route and verdict', async () => {
  const h = startHarness({ policy: KEY_BASED });
  await h.review('/mutate', admissionReview(ociRepository()));
  await h.review('/validate', admissionReview(ociRepository({ verify: undefined })));
  const text = await h.metrics.registry.metrics();
  assert.match(text, /pinwarden_webhook_requests_total\{route="mutate",verdict="patched"\} 1/);
  assert.match(text, /pinwarden_webhook_requests_total\{route="validate",verdict="deny"\} 1/);
  assert.match(text, /pinwarden_webhook_request_duration_seconds_count\{route="validate",verdict="deny"\} 1/);
});

test('log lines carry uid, kind, object, verdict and duration', async () => {
  const h = startHarness({ policy: KEY_BASED });
  await h.review('/mutate', admissionReview(ociRepository(), { uid: 'log-1' }));
  const line = h.logs.find((entry) => entry.reqId === 'log-1');
  assert.ok(line);
  assert.equal(line.kind, 'OCIRepository');
  assert.equal(line.object, 'apps/podinfo');
  assert.equal(line.verdict, 'patched');
  assert.equal(typeof line.durationMs, 'number');
});
