// Issue #10 item 4 through the runtime: the Kustomization reconciler under the controller manager (informers,
// work queue, the status writer, Events) on a real kube-apiserver. A new artifact on the OCIRepository requeues
// the Kustomization at once (sourceOf), long before its 10-minute interval. Deletion as Flux's finalize does it:
// pinwarden's finalizer, then the inventory deleted (or kept) as deletionPolicy, prune, suspend and the
// ServiceAccount say. There is no kube-controller-manager here, so the tests use ConfigMaps in namespaces that
// stay, and a finalizer of the test's own to hold an object in Terminating.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../../../helpers/cli.ts';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import type { Loose } from '../../../helpers/admission.ts';
import { createObjectClients } from '../../../../src/kube/index.ts';
import type { ObjectClients } from '../../../../src/kube/index.ts';
import type { ControllerManager } from '../../../../src/controller/runtime/index.ts';
import { poll } from '../../../helpers/poll.ts';
import { kustomizationObject } from '../../../support/controller.ts';
import {
  configMapDeployer,
  createArtifactDirs,
  freshNamespace,
  live,
  managers,
  startKustomizationManager,
} from './fixtures.ts';

let cp: ControlPlane;
let manager: ControllerManager;
let clients: ObjectClients;
const artifacts = createArtifactDirs('e');
const publish = (ns: string, files: Record<string, string>): Promise<string> =>
  artifacts.publish(clients.client, ns, files);

before(async () => {
  cp = await startControlPlane();
  clients = createObjectClients(cp.kubeConfig());
  manager = await startKustomizationManager(cp, clients, { artifacts });
});
after(async () => {
  await manager?.stop();
  await cp?.stop();
  artifacts.remove();
});

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> =>
  poll(what, probe, { timeoutMs, intervalMs: 200 });

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
  await clients.client.apply(kustomizationObject(ns, 'apps', 'app', { prune: true, targetNamespace: ns }), {
    fieldManager: 'test',
  });
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
    kustomizationObject(ns, 'apps', 'app', { retryInterval: '2s', prune: true, targetNamespace: ns }),
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

const KS = 'kustomizations.kustomize.toolkit.fluxcd.io';
const FINALIZER = 'finalizers.pinwarden.dev';
const cmYaml = (name: string, extra = ''): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}data:\n  v: "1"\n`;

async function applyKustomization(ns: string, spec: Loose): Promise<void> {
  await clients.client.apply(
    kustomizationObject(ns, 'apps', 'app', { retryInterval: '2s', targetNamespace: ns, ...spec }),
    { fieldManager: 'test' },
  );
}

/** Published, applied and Ready, with pinwarden's finalizer on it. */
async function deployed(ns: string, files: Record<string, string>, spec: Loose): Promise<Loose> {
  const revision = await publish(ns, files);
  await applyKustomization(ns, spec);
  return until('Ready=True', readyFor(ns, revision));
}

async function deleteKustomization(ns: string): Promise<void> {
  await cp.kubectlOk(['delete', KS, '-n', ns, 'apps', '--wait=false']);
}

async function gone(ns: string, timeoutMs = 30_000): Promise<void> {
  await until(
    `Kustomization ${ns}/apps gone`,
    async () => ((await live(cp, [KS, '-n', ns, 'apps'])) ? undefined : true),
    timeoutMs,
  );
}

async function eventsOf(ns: string): Promise<Loose[]> {
  const list = JSON.parse(await cp.kubectlOk(['get', 'events', '-n', ns, '-o', 'json'])).items as Loose[];
  return list.filter((event) => event.involvedObject?.kind === 'Kustomization');
}

const configMapIn = (ns: string, name: string): Promise<Loose> => live(cp, ['configmap', '-n', ns, name]);

test('finalizer: added by a metadata-only patch; deleting with prune: true deletes what it owns, never a prune: disabled or re-owned object', async () => {
  const ns = await freshNamespace(cp, 'fin-prune');
  const ks = await deployed(
    ns,
    {
      'a.yaml': cmYaml('a'),
      'keep.yaml': cmYaml('keep', '  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n'),
      'moved.yaml': cmYaml('moved'),
    },
    { prune: true },
  );
  assert.deepEqual(ks.metadata.finalizers, [FINALIZER]);
  assert.equal(ks.metadata.generation, 1, 'adding the finalizer is not a spec change');
  assert.deepEqual(ks.spec.sourceRef, { kind: 'OCIRepository', name: 'app' });
  // Another Kustomization took `moved` over: its ownership labels name that one now.
  await cp.kubectlOk([
    'label',
    'configmap',
    '-n',
    ns,
    'moved',
    '--overwrite',
    'kustomize.toolkit.fluxcd.io/name=other',
  ]);

  await deleteKustomization(ns);
  await gone(ns);
  assert.equal(await configMapIn(ns, 'a'), undefined, 'a deleted');
  assert.ok(await configMapIn(ns, 'keep'), 'prune: disabled is kept');
  assert.ok(await configMapIn(ns, 'moved'), 'an object owned by another Kustomization is kept');
  const event = (await eventsOf(ns)).find((item) => /ConfigMap\/.* deleted/.test(item.message));
  assert.ok(event, 'the change-set Event');
  assert.equal(
    event.message,
    [`ConfigMap/${ns}/moved skipped`, `ConfigMap/${ns}/keep skipped`, `ConfigMap/${ns}/a deleted`].join('\n'),
  );
  assert.equal(event.reason, 'ReconciliationSucceeded');
  assert.equal(event.type, 'Normal');
  assert.equal(manager.queue.failures(`Kustomization/${ns}/apps`), 0, 'the deleted object is forgotten');
});

test('finalizer: prune: false (MirrorPrune) and deletionPolicy: Orphan keep every object; the Kustomization still goes', async () => {
  for (const spec of [{ prune: false }, { prune: true, deletionPolicy: 'Orphan' }]) {
    const ns = await freshNamespace(cp, 'fin-keep');
    await deployed(ns, { 'a.yaml': cmYaml('a') }, spec);
    await deleteKustomization(ns);
    await gone(ns);
    assert.ok(await configMapIn(ns, 'a'), `kept with ${JSON.stringify(spec)}`);
  }
});

test('finalizer: deletionPolicy: Delete deletes even with prune: false; a suspended Kustomization deletes nothing', async () => {
  const deleting = await freshNamespace(cp, 'fin-delete');
  await deployed(deleting, { 'a.yaml': cmYaml('a') }, { prune: false, deletionPolicy: 'Delete' });
  await deleteKustomization(deleting);
  await gone(deleting);
  assert.equal(await configMapIn(deleting, 'a'), undefined);

  const suspended = await freshNamespace(cp, 'fin-suspend');
  await deployed(suspended, { 'a.yaml': cmYaml('a') }, { prune: true, deletionPolicy: 'Delete' });
  await applyKustomization(suspended, { prune: true, deletionPolicy: 'Delete', suspend: true });
  await deleteKustomization(suspended);
  await gone(suspended);
  assert.ok(await configMapIn(suspended, 'a'), 'suspended: nothing deleted');
});

test('finalizer: WaitForTermination holds the Kustomization until the deleted objects are really gone', async () => {
  const ns = await freshNamespace(cp, 'fin-wait');
  await deployed(
    ns,
    { 'held.yaml': cmYaml('held', '  finalizers:\n  - test.pinwarden.dev/hold\n'), 'free.yaml': cmYaml('free') },
    { prune: false, deletionPolicy: 'WaitForTermination', timeout: '3m' },
  );
  await deleteKustomization(ns);
  const terminating = await until('held is Terminating', async () => {
    const held = await configMapIn(ns, 'held');
    return held?.metadata?.deletionTimestamp ? held : undefined;
  });
  assert.ok(terminating);
  assert.equal(await configMapIn(ns, 'free'), undefined);
  // Several polls later the Kustomization is still there, its finalizer in place.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const waiting = await live(cp, [KS, '-n', ns, 'apps']);
  assert.ok(waiting?.metadata?.deletionTimestamp, 'still Terminating');
  assert.deepEqual(waiting.metadata.finalizers, [FINALIZER]);
  await cp.kubectlOk([
    'patch',
    'configmap',
    '-n',
    ns,
    'held',
    '--type=merge',
    '-p',
    '{"metadata":{"finalizers":null}}',
  ]);
  await gone(ns);
  assert.equal(await configMapIn(ns, 'held'), undefined);
});

test('finalizer: deletion impersonates serviceAccountName — Forbidden keeps the finalizer and retries; the account gone lets it go and keeps the objects', async () => {
  const ns = await freshNamespace(cp, 'fin-tenant');
  await configMapDeployer(cp, ns, 'get,list,watch,create,update,patch');
  await deployed(ns, { 'a.yaml': cmYaml('a') }, { prune: true, serviceAccountName: 'deployer' });
  await deleteKustomization(ns);
  await until('a Warning Event for the failed deletion', async () =>
    (await eventsOf(ns)).find(
      (item) => item.type === 'Warning' && item.message === 'pruning for deleted resource failed',
    ),
  );
  assert.deepEqual((await live(cp, [KS, '-n', ns, 'apps'])).metadata.finalizers, [FINALIZER], 'the finalizer stays');
  assert.ok(await configMapIn(ns, 'a'), 'the tenant may not delete: nothing deleted as the controller');
  assert.ok(manager.queue.failures(`Kustomization/${ns}/apps`) > 0, 'retried with backoff');
  await cp.kubectlOk(['create', 'role', '-n', ns, 'cm-delete', '--verb=delete', '--resource=configmaps']);
  await cp.kubectlOk([
    'create',
    'rolebinding',
    '-n',
    ns,
    'deployer-delete',
    '--role=cm-delete',
    `--serviceaccount=${ns}:deployer`,
  ]);
  await gone(ns);
  assert.equal(await configMapIn(ns, 'a'), undefined, 'deleted once the tenant may');

  const orphaned = await freshNamespace(cp, 'fin-nosa');
  await configMapDeployer(cp, orphaned, 'get,list,watch,create,update,patch,delete');
  await deployed(orphaned, { 'a.yaml': cmYaml('a') }, { prune: true, serviceAccountName: 'deployer' });
  await cp.kubectlOk(['delete', 'serviceaccount', '-n', orphaned, 'deployer']);
  await deleteKustomization(orphaned);
  await gone(orphaned);
  assert.ok(await configMapIn(orphaned, 'a'), 'nothing can be deleted as an account that is gone');
  const warning = (await eventsOf(orphaned)).find((item) => item.type === 'Warning');
  assert.equal(warning?.message, `unable to prune objects: \nConfigMap/${orphaned}/a`);
});

test("README's release snippet removes only pinwarden's finalizer; then a deletion is Flux's to finish and pinwarden deletes nothing", async () => {
  const ns = await freshNamespace(cp, 'fin-release');
  await deployed(ns, { 'a.yaml': cmYaml('a') }, { prune: true, deletionPolicy: 'Delete' });
  // As if Flux reconciled it too: its finalizer next to ours.
  await cp.kubectlOk([
    'patch',
    KS,
    '-n',
    ns,
    'apps',
    '--type=json',
    '-p',
    '[{"op":"add","path":"/metadata/finalizers/-","value":"finalizers.fluxcd.io"}]',
  ]);
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const snippet = /```sh\n(kubectl get kustomizations\.kustomize\.toolkit\.fluxcd\.io,ocirepositories[\s\S]*?)```/.exec(
    readme,
  )?.[1];
  assert.ok(snippet, 'the snippet is in the README');
  const run = spawnSync('bash', ['-euo', 'pipefail', '-c', snippet], {
    env: {
      ...process.env,
      KUBECONFIG: cp.adminKubeconfig,
      PATH: `${dirname(cp.assets.kubectl)}:${process.env.PATH ?? ''}`,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual((await live(cp, [KS, '-n', ns, 'apps'])).metadata.finalizers, ['finalizers.fluxcd.io']);

  await deleteKustomization(ns);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const terminating = await live(cp, [KS, '-n', ns, 'apps']);
  assert.ok(terminating.metadata.deletionTimestamp, 'waiting for Flux');
  assert.ok(await configMapIn(ns, 'a'), 'pinwarden deleted nothing: not its finalizer');
  await cp.kubectlOk(['patch', KS, '-n', ns, 'apps', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  await gone(ns);
});
