// Issue #10 item 2: an informer whose resourceVersion was compacted away gets 410 Gone from the apiserver and
// lists again. The apiserver runs without its watch cache here, so a watch reads etcd directly, and etcd is
// compacted through its v3 JSON gateway: the 410 is the real one, not a stand-in.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createInformer, createKubeApi } from '../../../../src/kube/index.ts';
import type { InformerEvent, KubeApi, ResourceType } from '../../../../src/kube/index.ts';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';

let cp: ControlPlane;
let api: KubeApi;
before(async () => {
  cp = await startControlPlane({ fluxCrds: 'none', apiserverArgs: ['--watch-cache=false'] });
  api = createKubeApi({ config: cp.kubeConfig(), timeoutMs: 10_000 });
});
after(() => cp?.stop());

const CONFIGMAPS: ResourceType = {
  group: '',
  version: 'v1',
  resource: 'configmaps',
  namespaced: true,
  kind: 'ConfigMap',
};

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function compactEtcd(): Promise<void> {
  const status = await fetch(`${cp.etcdUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: Buffer.from('/').toString('base64') }),
    signal: AbortSignal.timeout(10_000),
  });
  const revision = ((await status.json()) as { header: { revision: string } }).header.revision;
  const compacted = await fetch(`${cp.etcdUrl}/v3/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision, physical: true }),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(compacted.status, 200, await compacted.text());
}

test('a compacted resourceVersion: the watch gets 410 Gone, the informer lists again and reports the difference', async () => {
  await cp.kubectlOk(['create', 'namespace', 'gone']);
  await cp.kubectlOk(['-n', 'gone', 'create', 'configmap', 'kept', '--from-literal=a=1']);
  await cp.kubectlOk(['-n', 'gone', 'create', 'configmap', 'removed', '--from-literal=a=1']);
  const list = await api.request<{ metadata: { resourceVersion: string } }>({
    method: 'GET',
    path: '/api/v1/namespaces/gone/configmaps',
  });
  const staleRv = list.metadata.resourceVersion;
  // While "no one watches": one object deleted, one added, then history compacted past the stale version.
  await cp.kubectlOk(['-n', 'gone', 'delete', 'configmap', 'removed']);
  await cp.kubectlOk(['-n', 'gone', 'create', 'configmap', 'added', '--from-literal=a=1']);
  await compactEtcd();

  // The first list answers the stale version (as a list just before a long disconnect would have).
  let firstList = true;
  const staleApi: KubeApi = {
    server: api.server,
    async request(call) {
      const answer = await api.request<Record<string, unknown>>(call);
      if (firstList && call.method === 'GET') {
        firstList = false;
        return {
          ...answer,
          items: [
            { metadata: { name: 'kept', namespace: 'gone', resourceVersion: 'old' } },
            { metadata: { name: 'removed', namespace: 'gone', resourceVersion: 'old' } },
          ],
          metadata: { resourceVersion: staleRv },
        } as never;
      }
      return answer as never;
    },
    watch: (path, query, options, onEvent) => api.watch(path, query, options, onEvent),
  };
  const lists: string[] = [];
  const events: InformerEvent[] = [];
  const informer = createInformer({
    api: staleApi,
    resource: CONFIGMAPS,
    namespace: 'gone',
    onEvent: (event) => events.push(event),
    onList: (reason) => lists.push(reason),
  });
  informer.start();
  try {
    await until('the re-list after 410', () => (lists.length >= 2 ? true : undefined));
    await until('the difference', () => events.find((event) => event.type === 'DELETED'));
    assert.deepEqual(lists.slice(0, 2), ['initial', 'gone']);
    assert.deepEqual(
      events.map((event) => `${event.type} ${event.object.metadata.name}`).sort(),
      ['ADDED added', 'ADDED kept', 'ADDED removed', 'DELETED removed', 'MODIFIED kept'].sort(),
    );
    assert.deepEqual(
      informer
        .list()
        .map((object) => object.metadata.name)
        .sort(),
      ['added', 'kept'],
    );
    await cp.kubectlOk(['-n', 'gone', 'create', 'configmap', 'later', '--from-literal=a=1']);
    await until('the watch after the re-list', () => informer.get('gone', 'later'));
  } finally {
    await informer.stop();
  }
});
