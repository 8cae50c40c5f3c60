// Issue #10 item 2 on the real control plane: the informer (list + watch with bookmarks, resume after the
// connection drops without missing an event), the status writer (status subresource, other writers'
// conditions kept, 409 retried), Events, and Lease leader election.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { RESOURCES, createInformer, createKubeApi, kubeStatusOf, objectPath } from '../../../../src/kube/index.ts';
import type { InformerEvent, KubeApi, KubeObject, ResourceType } from '../../../../src/kube/index.ts';
import {
  CONDITION,
  ConditionSet,
  createEventRecorder,
  createLeaderElector,
  createStatusWriter,
} from '../../../../src/controller/runtime/index.ts';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';

let cp: ControlPlane;
let api: KubeApi;
before(async () => {
  cp = await startControlPlane();
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
let counter = 0;
async function namespace(): Promise<string> {
  const name = `rt-${process.pid}-${++counter}`;
  await cp.kubectlOk(['create', 'namespace', name]);
  return name;
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A TCP proxy in front of the apiserver whose connections the test can cut. */
async function cuttableProxy(
  target: URL,
): Promise<{ url: string; cut(): void; close(): Promise<void>; connections(): number }> {
  const sockets = new Set<Socket>();
  let total = 0;
  const server: Server = createServer((client) => {
    total++;
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    cut: () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    connections: () => total,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function configThrough(server: string): KubeConfig {
  const base = cp.kubeConfig();
  const config = new KubeConfig();
  const cluster = base.getCurrentCluster()!;
  config.loadFromOptions({
    clusters: [{ ...cluster, server }],
    users: base.getUsers(),
    contexts: base.getContexts(),
    currentContext: base.getCurrentContext(),
  });
  return config;
}

test('informer: lists, then sees ADDED, MODIFIED and DELETED from the watch; a label selector filters', async () => {
  const ns = await namespace();
  await cp.kubectlOk(['-n', ns, 'create', 'configmap', 'before', '--from-literal=a=1']);
  await cp.kubectlOk(['-n', ns, 'create', 'configmap', 'other', '--from-literal=a=1']);
  await cp.kubectlOk(['-n', ns, 'label', 'configmap', 'before', 'shard=one']);
  const events: InformerEvent[] = [];
  const informer = createInformer({
    api,
    resource: CONFIGMAPS,
    namespace: ns,
    labelSelector: 'shard=one',
    onEvent: (event) => events.push(event),
  });
  informer.start();
  try {
    await informer.waitForSync(AbortSignal.timeout(20_000));
    assert.deepEqual(
      informer.list().map((object) => object.metadata.name),
      ['before'],
      'only the labelled object',
    );
    await cp.kubectlOk(['-n', ns, 'create', 'configmap', 'after', '--from-literal=a=1']);
    await cp.kubectlOk(['-n', ns, 'label', 'configmap', 'after', 'shard=one']);
    await cp.kubectlOk(['-n', ns, 'patch', 'configmap', 'after', '-p', '{"data":{"a":"2"}}']);
    await cp.kubectlOk(['-n', ns, 'delete', 'configmap', 'before']);
    await until('the delete', () => events.find((event) => event.type === 'DELETED'));
    const seen = events.map((event) => `${event.type} ${event.object.metadata.name}`);
    assert.deepEqual(seen, ['ADDED before', 'ADDED after', 'MODIFIED after', 'DELETED before']);
    assert.equal((informer.get(ns, 'after') as { data?: { a?: string } }).data?.a, '2');
  } finally {
    await informer.stop();
  }
});

test('informer: after the connection drops it resumes from its resourceVersion and misses nothing, without listing again', async () => {
  const ns = await namespace();
  const proxy = await cuttableProxy(new URL(cp.url));
  const throughProxy = createKubeApi({ config: configThrough(proxy.url), timeoutMs: 5000 });
  const events: InformerEvent[] = [];
  const lists: string[] = [];
  const errors: string[] = [];
  const informer = createInformer({
    api: throughProxy,
    resource: CONFIGMAPS,
    namespace: ns,
    onEvent: (event) => events.push(event),
    onList: (reason) => lists.push(reason),
    onError: (error) => errors.push(error.message),
    backoff: { initialMs: 300, maxMs: 1000 },
  });
  informer.start();
  try {
    await informer.waitForSync(AbortSignal.timeout(20_000));
    await cp.kubectlOk(['-n', ns, 'create', 'configmap', 'one', '--from-literal=a=1']);
    await until('one', () => informer.get(ns, 'one'));
    const connectionsBefore = proxy.connections();
    proxy.cut();
    // Written while the watch is down: the resumed watch must deliver them.
    await cp.kubectlOk(['-n', ns, 'create', 'configmap', 'two', '--from-literal=a=1']);
    await cp.kubectlOk(['-n', ns, 'patch', 'configmap', 'one', '-p', '{"data":{"a":"2"}}']);
    await cp.kubectlOk(['-n', ns, 'delete', 'configmap', 'one']);
    await until(
      'the delete of one after the drop',
      () => events.find((event) => event.type === 'DELETED' && event.object.metadata.name === 'one'),
      30_000,
    );
    assert.ok(proxy.connections() > connectionsBefore, 'a new connection was opened');
    assert.deepEqual(lists, ['initial'], 'resumed from the resourceVersion, not re-listed');
    assert.deepEqual(
      events.map((event) => `${event.type} ${event.object.metadata.name}`),
      ['ADDED one', 'ADDED two', 'MODIFIED one', 'DELETED one'],
    );
  } finally {
    await informer.stop();
    await proxy.close();
  }
});

function ociRepository(ns: string, name: string): string {
  return JSON.stringify({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name, namespace: ns },
    spec: { url: 'oci://127.0.0.1:5000/x', interval: '5m', ref: { tag: 'v1' } },
  });
}

test("status writer: writes through /status, keeps another writer's conditions, retries a 409, writes nothing when nothing changed", async () => {
  const ns = await namespace();
  await cp.kubectlOk(['apply', '-f', '-'], { input: ociRepository(ns, 'app') });
  const path = objectPath(RESOURCES.ociRepository, ns, 'app');
  const foreign = {
    type: 'Foreign',
    status: 'True',
    reason: 'Mine',
    message: 'someone else',
    lastTransitionTime: '2026-01-01T00:00:00Z',
  };
  await api.request({
    method: 'PATCH',
    path: `${path}/status`,
    contentType: 'application/merge-patch+json',
    body: { status: { conditions: [foreign] } },
  });
  const stale = await api.request<KubeObject>({ method: 'GET', path });
  // Another writer moves the object on after our read: our write meets a 409 and must merge again.
  await api.request({
    method: 'PATCH',
    path,
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels: { moved: 'yes' } } },
  });
  const writer = createStatusWriter({ api, resource: RESOURCES.ociRepository });
  const conditions = new ConditionSet([], stale.metadata.generation);
  conditions.markTrue(CONDITION.ready, 'Succeeded', 'stored artifact');
  const owned = [CONDITION.ready, CONDITION.reconciling];
  const written = await writer.write(stale, {
    conditions: conditions.list(),
    owned,
    observedGeneration: 1,
    fields: { url: 'http://x/latest.tar.gz' },
  });
  const live = await api.request<KubeObject>({ method: 'GET', path });
  const status = live.status as {
    conditions: Array<{ type: string; reason: string }>;
    observedGeneration: number;
    url: string;
  };
  assert.deepEqual(status.conditions.map((condition) => `${condition.type}/${condition.reason}`).sort(), [
    'Foreign/Mine',
    'Ready/Succeeded',
  ]);
  assert.equal(status.observedGeneration, 1);
  assert.equal(status.url, 'http://x/latest.tar.gz');
  assert.equal(live.metadata.labels?.moved, 'yes', 'the spec side was not touched');
  const again = await writer.write(written, {
    conditions: conditions.list(),
    owned,
    observedGeneration: 1,
    fields: { url: 'http://x/latest.tar.gz' },
  });
  assert.equal(again.metadata.resourceVersion, written.metadata.resourceVersion, 'an unchanged status is not written');
});

test('events: a core/v1 Event names the object, the reason and the message', async () => {
  const ns = await namespace();
  await cp.kubectlOk(['apply', '-f', '-'], { input: ociRepository(ns, 'evented') });
  const object = await api.request<KubeObject>({
    method: 'GET',
    path: objectPath(RESOURCES.ociRepository, ns, 'evented'),
  });
  const recorder = createEventRecorder({ api });
  await recorder.record(object, {
    type: 'Warning',
    reason: 'OCIArtifactPullFailed',
    message: 'registry down',
    annotations: { 'source.toolkit.fluxcd.io/revision': 'v1@sha256:00' },
  });
  const list = await api.request<{
    items: Array<{ reason: string; message: string; type: string; involvedObject: { uid: string; kind: string } }>;
  }>({ method: 'GET', path: `/api/v1/namespaces/${ns}/events` });
  assert.equal(list.items.length, 1);
  assert.equal(list.items[0]!.reason, 'OCIArtifactPullFailed');
  assert.equal(list.items[0]!.type, 'Warning');
  assert.equal(list.items[0]!.involvedObject.uid, object.metadata.uid);
  assert.equal(list.items[0]!.involvedObject.kind, 'OCIRepository');
});

test('leader election: exactly one of two candidates leads; after it releases, the other takes over', async () => {
  const ns = await namespace();
  const state = { a: false, b: false };
  const elector = (id: 'a' | 'b') =>
    createLeaderElector({
      api,
      namespace: ns,
      name: 'pinwarden-controller',
      identity: id,
      leaseDurationSeconds: 3,
      renewDeadlineMs: 2000,
      retryPeriodMs: 250,
      onStartedLeading: () => (state[id] = true),
      onStoppedLeading: () => (state[id] = false),
    });
  const a = elector('a');
  a.start();
  await until('a leads', () => state.a);
  const b = elector('b');
  b.start();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.deepEqual(state, { a: true, b: false }, 'b waits while a renews');
  const lease = await api.request<{ spec: { holderIdentity: string } }>({
    method: 'GET',
    path: objectPath(RESOURCES.lease, ns, 'pinwarden-controller'),
  });
  assert.equal(lease.spec.holderIdentity, 'a');
  const released = Date.now();
  await a.stop();
  await until('b leads', () => state.b);
  assert.ok(Date.now() - released < 3000, 'a released Lease is taken before it would have expired');
  await b.stop();
  const after = await api.request<{ spec: { holderIdentity?: string } }>({
    method: 'GET',
    path: objectPath(RESOURCES.lease, ns, 'pinwarden-controller'),
  });
  assert.equal(after.spec.holderIdentity, undefined, 'released on stop');
  assert.equal(
    kubeStatusOf(
      await api
        .request({ method: 'GET', path: objectPath(RESOURCES.lease, ns, 'absent') })
        .catch((error: unknown) => error),
    ),
    404,
  );
});
