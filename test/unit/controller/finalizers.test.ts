// pinwarden's finalizer writer (#10) against a scripted KubeApi: one merge patch of metadata.finalizers with the
// resourceVersion as a precondition; 409 → read again and recompute (another writer's finalizer survives); 404 →
// gone; an object replaced under the same name is never given our finalizer. The real apiserver runs it in
// test/integration/cluster/{apply/manager,controller/ocirepository}.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { RESOURCES } from '../../../src/kube/index.ts';
import type { KubeApi, KubeObject, KubeRequest } from '../../../src/kube/index.ts';
import { FINALIZER, createFinalizerWriter } from '../../../src/controller/runtime/index.ts';

const apiError = (status: number): PinwardenError =>
  new PinwardenError('PW_KUBE_API', `injected ${status}`, { details: { status } });

function scripted(answers: Array<(request: KubeRequest) => unknown>): KubeApi & { requests: KubeRequest[] } {
  const requests: KubeRequest[] = [];
  return {
    server: 'https://scripted',
    requests,
    request: async <T>(request: KubeRequest): Promise<T> => {
      requests.push(request);
      const answer = answers.shift();
      if (answer === undefined) assert.fail(`unexpected ${request.method} ${request.path}`);
      const value = answer(request);
      if (value instanceof Error) throw value;
      return value as T;
    },
    watch: async () => assert.fail('no watch'),
  };
}

const object = (resourceVersion: string, finalizers?: string[], uid = 'u1'): KubeObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: 'web', namespace: 'apps', uid, resourceVersion, ...(finalizers ? { finalizers } : {}) },
  spec: { prune: true },
});

test('add: one merge patch of metadata.finalizers with the resourceVersion, on the main resource', async () => {
  const api = scripted([() => object('2', [FINALIZER])]);
  const writer = createFinalizerWriter({ api, resource: RESOURCES.kustomization });
  const result = await writer.add(object('1'));
  assert.deepEqual([result.written, result.gone], [true, false]);
  assert.deepEqual(api.requests, [
    {
      method: 'PATCH',
      path: '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/apps/kustomizations/web',
      contentType: 'application/merge-patch+json',
      body: { metadata: { resourceVersion: '1', finalizers: [FINALIZER] } },
    },
  ]);
});

test("409: read again and recompute — another writer's finalizer added meanwhile is kept", async () => {
  const api = scripted([() => apiError(409), () => object('5', ['example.com/other']), () => object('6')]);
  const writer = createFinalizerWriter({ api, resource: RESOURCES.kustomization });
  const result = await writer.add(object('1'));
  assert.equal(result.written, true);
  assert.deepEqual(
    api.requests.map((request) => request.method),
    ['PATCH', 'GET', 'PATCH'],
  );
  assert.deepEqual(api.requests[2]!.body, {
    metadata: { resourceVersion: '5', finalizers: ['example.com/other', FINALIZER] },
  });
});

test('409 and the live object already has it: nothing written (the cache was behind)', async () => {
  const api = scripted([() => apiError(409), () => object('5', [FINALIZER])]);
  const result = await createFinalizerWriter({ api, resource: RESOURCES.kustomization }).add(object('1'));
  assert.deepEqual([result.written, result.gone], [false, false]);
  assert.equal(api.requests.length, 2);
});

test('remove: only ours goes; 404 (on the patch or the re-read) is gone, not an error', async () => {
  const api = scripted([() => object('3')]);
  const writer = createFinalizerWriter({ api, resource: RESOURCES.kustomization });
  await writer.remove(object('2', ['example.com/other', FINALIZER]));
  assert.deepEqual(api.requests[0]!.body, { metadata: { resourceVersion: '2', finalizers: ['example.com/other'] } });
  assert.deepEqual(
    await createFinalizerWriter({ api: scripted([() => apiError(404)]), resource: RESOURCES.kustomization }).remove(
      object('2', [FINALIZER]),
    ),
    { object: undefined, written: false, gone: true },
  );
  const conflictThenGone = scripted([() => apiError(409), () => apiError(404)]);
  const gone = await createFinalizerWriter({ api: conflictThenGone, resource: RESOURCES.kustomization }).remove(
    object('2', [FINALIZER]),
  );
  assert.equal(gone.gone, true);
  const nothing = scripted([]);
  const noop = await createFinalizerWriter({ api: nothing, resource: RESOURCES.kustomization }).remove(object('2'));
  assert.deepEqual([noop.written, nothing.requests.length], [false, 0], 'not ours: no request at all');
});

test('replaced under the same name: never given our finalizer (an error), and a remove counts it gone', async () => {
  const add = scripted([() => apiError(409), () => object('9', undefined, 'u2')]);
  await assert.rejects(
    createFinalizerWriter({ api: add, resource: RESOURCES.kustomization }).add(object('1')),
    (error: PinwardenError) => error.code === 'PW_KUBE_API' && /was replaced/.test(error.message),
  );
  assert.equal(add.requests.length, 2, 'no patch of the new object');
  const remove = scripted([() => apiError(409), () => object('9', [FINALIZER], 'u2')]);
  const result = await createFinalizerWriter({ api: remove, resource: RESOURCES.kustomization }).remove(
    object('1', [FINALIZER]),
  );
  assert.equal(result.gone, true);
  assert.equal(remove.requests.length, 2, "the new object's finalizer is left alone");
});

test('other errors and repeated conflicts are thrown (the reconcile backs off)', async () => {
  await assert.rejects(
    createFinalizerWriter({ api: scripted([() => apiError(500)]), resource: RESOURCES.kustomization }).add(object('1')),
    /injected 500/,
  );
  const conflicts = scripted([() => apiError(409), () => object('2'), () => apiError(409)]);
  await assert.rejects(
    createFinalizerWriter({ api: conflicts, resource: RESOURCES.kustomization, attempts: 2 }).add(object('1')),
    /injected 409/,
  );
});
