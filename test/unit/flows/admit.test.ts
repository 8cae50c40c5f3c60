import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import type { Resolution } from '../../../src/core/mutation/index.ts';
import { createPinFailureLog, mutateObject, validateObject } from '../../../src/flows/index.ts';
import type { AdmitDeps } from '../../../src/flows/index.ts';
import { DIGEST_A, fakePinResolver, ociRepository } from '../../helpers/admission.ts';
import { policyFrom } from '../../helpers/rule-tester.ts';
import { TRUSTS_PLATFORM_KEY, platformKeySecrets } from '../../helpers/trust.ts';

const NOW = new Date('2026-03-01T00:00:00Z');
const KEY_BASED = `ociRepository: {${TRUSTS_PLATFORM_KEY}}`;

function deps(answer: () => Resolution) {
  const pins = fakePinResolver(answer);
  const value: AdmitDeps = { pins, failures: createPinFailureLog(), now: () => NOW, secrets: platformKeySecrets() };
  return { deps: value, pins };
}

const fail =
  (code: 'PW_DEADLINE' | 'PW_INPUT_INVALID' | 'PW_MANIFEST_UNKNOWN'): (() => Resolution) =>
  () => ({ ok: false, error: new PinwardenError(code, `${code} happened`) });

test('mutate then validate: the recorded failure is the cause, without a second lookup', async () => {
  const { deps: d, pins } = deps(fail('PW_DEADLINE'));
  const policy = policyFrom(KEY_BASED);
  const plan = await mutateObject({ object: ociRepository() }, policy, d);
  assert.equal(plan.failure?.code, 'PW_DEADLINE');
  const result = await validateObject({ object: ociRepository() }, policy, d);
  assert.equal(pins.calls.length, 1);
  assert.equal(result.pinFailure?.code, 'PW_DEADLINE');
  assert.equal(result.evaluation.verdict, 'deny');
  assert.match(result.evaluation.findings[0]?.message ?? '', /\[PW_DEADLINE\]/);
});

test('validate without a recorded failure asks the resolver again', async () => {
  const { deps: d, pins } = deps(fail('PW_MANIFEST_UNKNOWN'));
  const result = await validateObject({ object: ociRepository() }, policyFrom(KEY_BASED), d);
  assert.equal(pins.calls.length, 1);
  assert.equal(result.pinFailure?.code, 'PW_MANIFEST_UNKNOWN');
});

test('validate of an unpinned object whose tag resolves fine: the mutating webhook did not run', async () => {
  const { deps: d } = deps(() => ({ ok: true, digest: DIGEST_A, tag: 'x' }));
  const result = await validateObject({ object: ociRepository() }, policyFrom(KEY_BASED), d);
  assert.equal(result.evaluation.verdict, 'deny');
  assert.equal(result.pinFailure, undefined);
  assert.match(result.evaluation.findings[0]?.message ?? '', /MutatingWebhookConfiguration/);
});

test('onUnreachable: warn downgrades digest-required for unavailable failures only', async () => {
  const policy = policyFrom(`${KEY_BASED}\nregistry: {onUnreachable: warn}`);
  const unavailable = await validateObject({ object: ociRepository() }, policy, deps(fail('PW_DEADLINE')).deps);
  assert.equal(unavailable.evaluation.verdict, 'warn');
  assert.equal(unavailable.evaluation.findings[0]?.severity, 'warning');
  const input = await validateObject({ object: ociRepository() }, policy, deps(fail('PW_INPUT_INVALID')).deps);
  assert.equal(input.evaluation.verdict, 'deny');
});

test('a pinned object is validated without any lookup; a mutation success clears an old failure', async () => {
  const { deps: d, pins } = deps(() => ({ ok: true, digest: DIGEST_A, tag: 'x' }));
  const policy = policyFrom(KEY_BASED);
  const result = await validateObject({ object: ociRepository({ ref: { tag: 'v1', digest: DIGEST_A } }) }, policy, d);
  assert.equal(result.evaluation.verdict, 'allow');
  assert.equal(pins.calls.length, 0);
  d.failures.record(
    { apiVersion: '', kind: 'OCIRepository', namespace: 'apps', name: 'podinfo' },
    { url: 'oci://ghcr.io/acme/podinfo', source: { kind: 'tag', tag: '6.6.2', implicit: false } },
    new PinwardenError('PW_DEADLINE', 'old'),
  );
  await mutateObject({ object: ociRepository() }, policy, d);
  assert.equal(
    d.failures.lookup(
      { apiVersion: '', kind: 'OCIRepository', namespace: 'apps', name: 'podinfo' },
      { url: 'oci://ghcr.io/acme/podinfo', source: { kind: 'tag', tag: '6.6.2', implicit: false } },
    ),
    undefined,
  );
});

test('request.namespace fills a missing metadata.namespace (exemptions see it)', async () => {
  const { deps: d, pins } = deps(() => ({ ok: true, digest: DIGEST_A, tag: 'x' }));
  const object = ociRepository({ verify: undefined });
  delete object.metadata.namespace;
  const policy = policyFrom('exemptNamespaces: [sandbox]');
  const plan = await mutateObject({ object, namespace: 'sandbox' }, policy, d);
  assert.deepEqual(plan.patch, []);
  const result = await validateObject({ object, namespace: 'sandbox' }, policy, d);
  assert.equal(result.evaluation.exempt, true);
  assert.equal(pins.calls.length, 0);
});

test('sticky UPDATE that reaches validation unpinned: the mutation did not carry the digest over', async () => {
  const { deps: d, pins } = deps(() => ({ ok: true, digest: DIGEST_A, tag: 'x' }));
  const oldObject = ociRepository({ ref: { tag: '6.6.2', digest: DIGEST_A } });
  const result = await validateObject({ object: ociRepository(), oldObject }, policyFrom(KEY_BASED), d);
  assert.equal(result.evaluation.verdict, 'deny');
  assert.match(result.evaluation.findings[0]?.message ?? '', /not carried over/);
  assert.equal(pins.calls.length, 0);
});
