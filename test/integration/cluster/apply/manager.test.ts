// Issue #10 item 4 through the runtime: the Kustomization reconciler under the controller manager (informers,
// work queue, the status writer, Events) on a real kube-apiserver. A new artifact on the OCIRepository requeues
// the Kustomization at once (sourceOf), long before its 10-minute interval.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import type { Loose } from '../../../helpers/admission.ts';
import { RESOURCES, createKubeApi, createObjectClients } from '../../../../src/kube/index.ts';
import type { ObjectClients } from '../../../../src/kube/index.ts';
import { createKustomizationController } from '../../../../src/controller/index.ts';
import {
  createControllerManager,
  createEventRecorder,
  createFinalizerWriter,
  createStatusWriter,
} from '../../../../src/controller/runtime/index.ts';
import type { ControllerManager } from '../../../../src/controller/runtime/index.ts';
import { freshNamespace, live, managers } from './fixtures.ts';

let cp: ControlPlane;
let manager: ControllerManager;
let clients: ObjectClients;
const dirs = new Map<string, string>();

before(async () => {
  cp = await startControlPlane();
  const api = createKubeApi({ config: cp.kubeConfig() });
  clients = createObjectClients(cp.kubeConfig());
  const kustomizations = createKustomizationController({
    client: clients.client,
    clientFor: (account) => clients.clientFor(account),
    artifacts: { directoryFor: async (digest) => dirs.get(digest) },
    status: createStatusWriter({ api, resource: RESOURCES.kustomization }),
    finalizers: createFinalizerWriter({ api, resource: RESOURCES.kustomization }),
    events: createEventRecorder({ api }),
    options: { stageIntervalMs: 200, healthIntervalMs: 200 },
  });
  // The OCIRepository reconciler is not under test: a stand-in that only lets the manager watch the sources.
  const sources = {
    resource: RESOURCES.ociRepository,
    reconcile: async () => ({ result: 'success' as const, requeue: { never: true as const } }),
  };
  manager = createControllerManager({
    api,
    controllers: [sources, kustomizations],
    workers: 2,
    backoff: { baseMs: 100, maxMs: 2_000 },
  });
  manager.start();
  await manager.waitForSync(AbortSignal.timeout(30_000));
});
after(async () => {
  await manager?.stop();
  await cp?.stop();
  for (const dir of dirs.values()) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
async function publish(ns: string, files: Record<string, string>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-artifact-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const digest = `sha256:${(++n).toString(16).padStart(64, 'e')}`;
  dirs.set(digest, dir);
  const revision = `latest@${digest}`;
  await clients.client.apply(
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'app', namespace: ns },
      spec: { url: 'oci://registry.example/app', interval: '10m' },
    },
    { fieldManager: 'test', force: true },
  );
  await clients.client.applyStatus(
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'app', namespace: ns },
      status: { artifact: { digest, revision, path: 'x', url: 'file:///x', lastUpdateTime: '2026-12-03T00:00:00Z' } },
    },
    { fieldManager: 'test', force: true },
  );
  return revision;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last !== undefined) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const readyFor = (ns: string, revision: string) => async (): Promise<Loose> => {
  const ks = await live(cp, ['kustomizations.kustomize.toolkit.fluxcd.io', '-n', ns, 'apps']);
  const ready = ks?.status?.conditions?.find((item: Loose) => item.type === 'Ready');
  return ready?.status === 'True' && ks.status.lastAppliedRevision === revision ? ks : undefined;
};

test('the manager reconciles a Kustomization to Ready, then a new artifact is applied and pruned at once', async () => {
  const ns = await freshNamespace(cp, 'mgr');
  const first = await publish(ns, {
    'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  v: "1"\n',
    'b.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  v: "1"\n',
  });
  await clients.client.apply(
    {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'apps', namespace: ns },
      spec: { interval: '10m', prune: true, targetNamespace: ns, sourceRef: { kind: 'OCIRepository', name: 'app' } },
    },
    { fieldManager: 'test' },
  );
  const ks = await until('Ready=True at the first revision', readyFor(ns, first));
  const ready = ks.status.conditions.find((item: Loose) => item.type === 'Ready');
  assert.deepEqual([ready.reason, ready.message], ['ReconciliationSucceeded', `Applied revision: ${first}`]);
  assert.equal(ks.status.observedGeneration, ks.metadata.generation);
  assert.equal(
    ks.status.conditions.find((item: Loose) => item.type === 'Reconciling'),
    undefined,
  );
  assert.deepEqual(
    ks.status.inventory.entries.map((entry: Loose) => entry.id),
    [`${ns}_a__ConfigMap`, `${ns}_b__ConfigMap`],
  );
  assert.deepEqual(managers(await live(cp, ['configmap', '-n', ns, 'a'])), ['pinwarden/Apply']);
  assert.ok(
    managers(ks).some((name) => name.startsWith('pinwarden')),
    'the status was written by pinwarden through the status subresource',
  );

  const second = await publish(ns, {
    'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  v: "2"\n',
  });
  const moved = await until(
    'Ready=True at the second revision (requeued by the source change, not the 10m interval)',
    readyFor(ns, second),
    30_000,
  );
  assert.deepEqual(
    moved.status.inventory.entries.map((entry: Loose) => entry.id),
    [`${ns}_a__ConfigMap`],
  );
  assert.equal((await live(cp, ['configmap', '-n', ns, 'a'])).data.v, '2');
  assert.equal(await live(cp, ['configmap', '-n', ns, 'b']), undefined, 'b pruned');
  const events = JSON.parse(await cp.kubectlOk(['get', 'events', '-n', ns, '-o', 'json'])).items as Loose[];
  assert.ok(
    events.some(
      (event) => event.involvedObject?.kind === 'Kustomization' && /garbage collection completed/.test(event.message),
    ),
    events.map((event) => event.message).join('\n'),
  );
});

test('a broken revision under the manager: Ready=False with the apiserver reason, the last good objects stay', async () => {
  const ns = await freshNamespace(cp, 'mgr-broken');
  const good = await publish(ns, {
    'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  v: "1"\n',
  });
  await clients.client.apply(
    {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'apps', namespace: ns },
      spec: {
        interval: '10m',
        retryInterval: '2s',
        prune: true,
        targetNamespace: ns,
        sourceRef: { kind: 'OCIRepository', name: 'app' },
      },
    },
    { fieldManager: 'test' },
  );
  await until('Ready=True', readyFor(ns, good));
  await publish(ns, {
    'svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: broken\nspec:\n  ports:\n  - port: 99999\n',
  });
  const failed = await until(
    'Ready=False',
    async () => {
      const ks = await live(cp, ['kustomizations.kustomize.toolkit.fluxcd.io', '-n', ns, 'apps']);
      const ready = ks?.status?.conditions?.find((item: Loose) => item.type === 'Ready');
      return ready?.status === 'False' ? ks : undefined;
    },
    30_000,
  );
  const ready = failed.status.conditions.find((item: Loose) => item.type === 'Ready');
  assert.equal(ready.reason, 'ReconciliationFailed');
  assert.match(ready.message, new RegExp(`^Service/${ns}/broken dry-run failed \\(Invalid\\)`));
  assert.equal(failed.status.lastAppliedRevision, good);
  assert.deepEqual(
    failed.status.inventory.entries.map((entry: Loose) => entry.id),
    [`${ns}_a__ConfigMap`],
  );
  assert.ok(await live(cp, ['configmap', '-n', ns, 'a']), 'nothing pruned');
});
