// The warm path of /mutate: after one resolve, the pin resolver answers from its caches without I/O, for the
// same registry access only, and only while the access (Secret-derived) is fresh.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterAccess, createPinFailureLog, createPinResolver, mutateObject } from '../../../src/flows/index.ts';
import type { PinTarget } from '../../../src/core/mutation/index.ts';
import { createMemorySecretReader } from '../../../src/kube/index.ts';
import { callWithTimeout } from '../../../src/oci/index.ts';
import { ociRepository } from '../../helpers/admission.ts';
import { pushImage } from '../../helpers/push-image.ts';
import { startRegistry } from '../../helpers/registry.ts';
import type { TestRegistry } from '../../helpers/registry.ts';
import { policyFrom } from '../../helpers/rule-tester.ts';

let registry: TestRegistry;
let digest: string;
before(async () => {
  registry = await startRegistry({ mode: 'plain' });
  digest = await pushImage({ host: registry.host, path: 'acme/app', insecure: true }, 'v1');
});
after(async () => {
  await registry?.stop();
});

const policy = policyFrom(
  'ociRepository: {allowInsecure: true}\nregistry: {allowNetworks: ["127.0.0.0/8", "::1/128"]}',
);
const target = (): PinTarget => ({
  url: `oci://${registry.host}/acme/app`,
  source: { kind: 'tag', tag: 'v1', implicit: false },
});
const object = (spec: Record<string, unknown> = {}) =>
  ociRepository({ url: `oci://${registry.host}/acme/app`, insecure: true, ref: { tag: 'v1' }, ...spec });

test('peek misses until a resolve has filled the caches, then answers the same digest without I/O', async () => {
  let accessReads = 0;
  const access = clusterAccess(createMemorySecretReader());
  const pins = createPinResolver({ access: async (request, call) => (accessReads++, access(request, call)) });
  try {
    assert.equal(pins.peek?.(object(), target(), policy), undefined);
    const resolved = await pins.resolve(object(), target(), policy, callWithTimeout(5000));
    assert.deepEqual(resolved, { ok: true, digest, tag: 'v1' });
    assert.deepEqual(pins.peek?.(object(), target(), policy), { ok: true, digest, tag: 'v1' });
    assert.equal(accessReads, 1, 'peek never reads Secrets');
  } finally {
    pins.close();
  }
});

test('a different secretRef is different access: no cached answer crosses credentials', async () => {
  const secrets = createMemorySecretReader({
    secrets: {
      'apps/pull': {
        type: 'kubernetes.io/dockerconfigjson',
        data: { '.dockerconfigjson': `{"auths":{"${'other.example'}":{"auth":"dTpw"}}}` },
      },
    },
  });
  const pins = createPinResolver({ access: clusterAccess(secrets) });
  try {
    await pins.resolve(object(), target(), policy, callWithTimeout(5000));
    assert.equal(pins.peek?.(object({ secretRef: { name: 'pull' } }), target(), policy), undefined);
  } finally {
    pins.close();
  }
});

test('cached access expires with the Secret cache (10 s), so a rotated Secret is read again', async () => {
  let now = 1_000_000;
  const pins = createPinResolver({ access: clusterAccess(createMemorySecretReader()), now: () => now });
  try {
    await pins.resolve(object(), target(), policy, callWithTimeout(5000));
    assert.ok(pins.peek?.(object(), target(), policy));
    now += 10_001;
    assert.equal(pins.peek?.(object(), target(), policy), undefined);
  } finally {
    pins.close();
  }
});

test('a warm /mutate is answered synchronously with the same patch as the first', async () => {
  const pins = createPinResolver({ access: clusterAccess(createMemorySecretReader()) });
  const deps = { pins, failures: createPinFailureLog(), now: () => new Date('2026-03-01T12:00:00Z') };
  try {
    const first = mutateObject({ object: object() }, policy, deps);
    assert.ok(first instanceof Promise, 'a cold pin asks the registry');
    const cold = await first;
    const warm = mutateObject({ object: object() }, policy, deps);
    assert.ok(!(warm instanceof Promise), 'a warm pin needs no I/O');
    assert.deepEqual(warm.patch, cold.patch);
    assert.ok(warm.patch.some((op) => op.path === '/spec/ref/digest' && op.value === digest));
  } finally {
    pins.close();
  }
});
