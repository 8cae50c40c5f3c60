// Issue #10 (wiring): a policy replaced in the holder (file reload, SourcePolicy change) requeues every object
// the controller watches, through the one hook in startController that `pinwarden controller` and
// `serve --controller` share; a refused policy requeues nothing. Without a cluster: an in-memory KubeApi serves
// the lists and holds the watches open.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PinwardenError } from '../../../src/core/errors.ts';
import { defaultPolicy } from '../../../src/core/policy/index.ts';
import { startController } from '../../../src/controller/index.ts';
import type { KindController } from '../../../src/controller/runtime/index.ts';
import { createMemorySecretReader } from '../../../src/kube/index.ts';
import type { KubeApi, KubeObject, ResourceType } from '../../../src/kube/index.ts';
import { createLogger, createPolicyHolder } from '../../../src/runtime/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'pw-policy-requeue-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const WIDGETS: ResourceType = {
  group: 'test.pinwarden.dev',
  version: 'v1',
  resource: 'widgets',
  namespaced: true,
  kind: 'Widget',
};

function widget(name: string): KubeObject {
  return {
    apiVersion: 'test.pinwarden.dev/v1',
    kind: 'Widget',
    metadata: { name, namespace: 'apps', resourceVersion: '1', uid: `uid-${name}`, generation: 1 },
  };
}

/** Lists: three widgets, nothing else; watches stay open (silent) until the informer stops. */
function memoryApi(): KubeApi {
  return {
    server: 'https://memory.invalid',
    async request<T>(request: { path: string }): Promise<T> {
      const items = request.path.includes('/widgets') ? [widget('a'), widget('b'), widget('c')] : [];
      return { metadata: { resourceVersion: '10' }, items } as T;
    },
    async watch(_path, _query, options) {
      await new Promise<void>((resolve) => {
        if (options.signal?.aborted) resolve();
        options.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    },
  };
}

async function until(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('a replaced policy requeues every watched object at once; a refused one and an unsubscribed controller do not', async () => {
  const logger = createLogger({ level: 'silent' });
  const holder = createPolicyHolder(defaultPolicy(), { logger });
  const runs: string[] = [];
  const widgets: KindController = {
    resource: WIDGETS,
    async reconcile({ object }) {
      runs.push(object.metadata.name);
      // An hour away: only an external requeue brings an object back within the test.
      return { result: 'success', requeue: { afterMs: 3_600_000 } };
    },
  };
  const controller = await startController({
    api: memoryApi(),
    storage: { dir: join(dir, 'store'), maxBytes: 1024 * 1024 },
    policy: () => holder.current(),
    policyChanges: (listener) => holder.onChange(listener),
    secrets: createMemorySecretReader({}),
    pull: async () => {
      throw new PinwardenError('PW_INTERNAL', 'no pulls in this test');
    },
    logger,
    kustomization: false,
    extraControllers: () => [widgets],
  });
  try {
    await until('the first reconcile of each widget', () => runs.length === 3);
    assert.deepEqual([...runs].sort(), ['a', 'b', 'c']);

    holder.refuse(new PinwardenError('PW_POLICY_INVALID', 'spec.mode: bad'), { file: 'policy.yaml' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(runs.length, 3, 'a refused policy leaves the policy in force, so nothing is requeued');

    holder.replace({ ...defaultPolicy(), metadata: { name: 'tightened' } }, { file: 'policy.yaml' });
    await until('every widget reconciled again', () => runs.length === 6);
    assert.deepEqual(runs.slice(3).sort(), ['a', 'b', 'c'], 'each object once more, none twice');
  } finally {
    await controller.close();
  }
  holder.replace({ ...defaultPolicy(), metadata: { name: 'after-close' } }, { file: 'policy.yaml' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(runs.length, 6, 'a closed controller unsubscribed: no work after close');
});
