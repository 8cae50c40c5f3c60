// Issue #10 items 4 and 5 (the apply faults): the Kustomization reconciler against a real kube-apiserver with
// Flux's CRDs. Each test builds an extracted "artifact" directory, publishes it on an OCIRepository's
// status.artifact, reconciles, writes the produced status through the status subresource (so Flux's own
// schema accepts it) and reads the live objects back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import type { Loose } from '../../../helpers/admission.ts';
import { createObjectClient, serviceAccountUser } from '../../../../src/kube/index.ts';
import type { ObjectClient } from '../../../../src/kube/index.ts';
import { reconcileKustomization } from '../../../../src/controller/kustomization/index.ts';
import type {
  KustomizationDeps,
  KustomizationObject,
  ReconcileOutcome,
} from '../../../../src/controller/kustomization/index.ts';
import { kustomizationObject } from '../../../support/controller.ts';
import { WIDGET_CRD, configMapDeployer, freshNamespace, live, managers } from './fixtures.ts';

let cp: ControlPlane;
let client: ObjectClient;
const dirs: string[] = [];
const artifacts = new Map<string, string>();

before(async () => {
  cp = await startControlPlane();
  client = createObjectClient(cp.kubeConfig());
  await cp.kubectlOk(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(WIDGET_CRD) });
  await cp.kubectlOk(['wait', '--for=condition=Established', 'crd/widgets.test.pinwarden.dev']);
});
after(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await cp?.stop();
});

let digestCounter = 0;
/** An extracted artifact: files under a fresh directory, registered under a fresh digest. */
function artifact(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-artifact-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const digest = `sha256:${(++digestCounter).toString(16).padStart(64, '0')}`;
  artifacts.set(digest, dir);
  return digest;
}

async function publish(
  ns: string,
  name: string,
  digest: string,
  origin = 'main@sha1:0123456789abcdef',
): Promise<string> {
  await client.apply(
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name, namespace: ns },
      spec: { url: 'oci://registry.example/app', interval: '5m', ref: { tag: 'latest' } },
    },
    { fieldManager: 'test', force: true },
  );
  const revision = `latest@${digest}`;
  await client.applyStatus(
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name, namespace: ns },
      status: {
        artifact: {
          digest,
          revision,
          path: `ocirepository/${ns}/${name}/${digest}.tar.gz`,
          url: 'http://example/x.tar.gz',
          lastUpdateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          metadata: { 'org.opencontainers.image.revision': origin },
        },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Succeeded',
            message: `stored artifact for digest '${revision}'`,
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        ],
      },
    },
    { fieldManager: 'test', force: true },
  );
  return revision;
}

async function kustomization(ns: string, name: string, spec: Loose): Promise<void> {
  await client.apply(kustomizationObject(ns, name, 'app', { prune: true, ...spec }), {
    fieldManager: 'test',
    force: true,
  });
}

function deps(overrides: Partial<KustomizationDeps> = {}): KustomizationDeps {
  return {
    client,
    clientFor: (account) =>
      account === undefined
        ? client
        : createObjectClient(cp.kubeConfig(), {
            impersonate: { user: serviceAccountUser(account.namespace, account.name) },
          }),
    artifacts: { directoryFor: async (digest) => artifacts.get(digest) },
    options: { stageIntervalMs: 200, healthIntervalMs: 200 },
    ...overrides,
  };
}

/** Reads the live Kustomization, reconciles it, writes the status through the status subresource. */
async function reconcile(
  ns: string,
  name: string,
  overrides: Partial<KustomizationDeps> = {},
): Promise<{ outcome: ReconcileOutcome; stored: Loose }> {
  const object = (await client.get({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    namespace: ns,
    name,
  })) as unknown as KustomizationObject;
  const outcome = await reconcileKustomization(object, deps(overrides));
  if (outcome.result !== 'suspended') {
    await client.applyStatus(
      {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name, namespace: ns },
        status: outcome.status,
      },
      { fieldManager: 'pinwarden', force: true },
    );
  }
  const stored = await live(cp, ['kustomizations.kustomize.toolkit.fluxcd.io', '-n', ns, name]);
  return { outcome, stored };
}

const cond = (stored: Loose, type: string): Loose =>
  stored.status?.conditions?.find((item: Loose) => item.type === type);
const cm = (name: string, data: Record<string, string>, extra = ''): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}data:\n${Object.entries(data)
    .map(([k, v]) => `  ${k}: "${v}"`)
    .join('\n')}\n`;

test('success, then a new revision: applied by pinwarden, pruned, inventory and revisions move, status as Flux writes it', async () => {
  const ns = await freshNamespace(cp, 'ks');
  const first = await publish(
    ns,
    'app',
    artifact({
      'deploy/a.yaml': cm('a', { v: '1' }),
      'deploy/nested/b.yaml': `${cm('b', { v: '1' })}---\n${cm('c', { v: '1' })}`,
    }),
    'main@sha1:1111',
  );
  await kustomization(ns, 'apps', { path: './deploy', targetNamespace: ns });
  const { outcome, stored } = await reconcile(ns, 'apps');
  assert.equal(outcome.result, 'succeeded', JSON.stringify(outcome.status.conditions));
  assert.equal(outcome.requeueAfterMs, 600_000);
  const ready = cond(stored, 'Ready');
  assert.deepEqual(
    [ready.status, ready.reason, ready.message],
    ['True', 'ReconciliationSucceeded', `Applied revision: ${first}`],
  );
  assert.equal(ready.observedGeneration, stored.metadata.generation);
  assert.equal(cond(stored, 'Reconciling'), undefined, 'Reconciling is removed on success');
  assert.equal(cond(stored, 'Healthy'), undefined, 'no wait, no healthChecks: no Healthy condition');
  assert.equal(stored.status.observedGeneration, stored.metadata.generation);
  assert.equal(stored.status.lastAppliedRevision, first);
  assert.equal(stored.status.lastAttemptedRevision, first);
  assert.equal(stored.status.lastAppliedOriginRevision, 'main@sha1:1111');
  assert.deepEqual(
    stored.status.inventory.entries,
    [`${ns}_a__ConfigMap`, `${ns}_b__ConfigMap`, `${ns}_c__ConfigMap`].map((id) => ({ id, v: 'v1' })),
  );
  assert.equal(stored.status.history.length, 1);
  assert.deepEqual(
    [
      stored.status.history[0].lastReconciledStatus,
      stored.status.history[0].totalReconciliations,
      stored.status.history[0].metadata,
    ],
    ['ReconciliationSucceeded', 1, { revision: first, originRevision: 'main@sha1:1111' }],
  );
  for (const name of ['a', 'b', 'c']) {
    const object = await live(cp, ['configmap', '-n', ns, name]);
    assert.deepEqual(managers(object), ['pinwarden/Apply']);
    assert.equal(object.metadata.labels['kustomize.toolkit.fluxcd.io/name'], 'apps');
    assert.equal(object.metadata.labels['kustomize.toolkit.fluxcd.io/namespace'], ns);
  }

  const second = await publish(
    ns,
    'app',
    artifact({ 'deploy/a.yaml': cm('a', { v: '2' }), 'deploy/d.yaml': cm('d', { v: '1' }) }),
    'main@sha1:2222',
  );
  const again = await reconcile(ns, 'apps');
  assert.equal(again.outcome.result, 'succeeded');
  assert.equal(again.stored.status.lastAppliedRevision, second);
  assert.equal(again.stored.status.lastAppliedOriginRevision, 'main@sha1:2222');
  assert.deepEqual(
    again.stored.status.history.map((item: Loose) => item.metadata.revision),
    [second, first],
    'newest snapshot first',
  );
  assert.deepEqual(
    again.stored.status.inventory.entries.map((entry: Loose) => entry.id),
    [`${ns}_a__ConfigMap`, `${ns}_d__ConfigMap`],
  );
  assert.equal((await live(cp, ['configmap', '-n', ns, 'a'])).data.v, '2');
  assert.equal(await live(cp, ['configmap', '-n', ns, 'b']), undefined, 'b pruned');
  assert.equal(await live(cp, ['configmap', '-n', ns, 'c']), undefined, 'c pruned');
  assert.ok(again.outcome.events.some((event) => event.message.startsWith('garbage collection completed')));
  assert.match(cond(again.stored, 'Ready').lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test('fault: one object fails to apply → Ready=False names it and the apiserver reason; the inventory does not shrink, nothing is pruned', async () => {
  const ns = await freshNamespace(cp, 'ks-fault');
  const good = await publish(ns, 'app', artifact({ 'a.yaml': cm('a', { v: '1' }), 'b.yaml': cm('b', { v: '1' }) }));
  await kustomization(ns, 'apps', { targetNamespace: ns });
  const before = (await reconcile(ns, 'apps')).stored;
  assert.equal(cond(before, 'Ready').status, 'True');
  const broken = await publish(
    ns,
    'app',
    artifact({
      'a.yaml': cm('a', { v: '2' }),
      'svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: broken\nspec:\n  ports:\n  - port: 99999\n',
    }),
  );
  const { outcome, stored } = await reconcile(ns, 'apps');
  assert.equal(outcome.result, 'failed');
  assert.equal(outcome.requeueAfterMs, 600_000, 'retryInterval defaults to interval');
  const ready = cond(stored, 'Ready');
  assert.equal(ready.status, 'False');
  assert.equal(ready.reason, 'ReconciliationFailed');
  assert.match(ready.message, new RegExp(`^Service/${ns}/broken dry-run failed \\(Invalid\\): .*99999`));
  assert.equal(cond(stored, 'Reconciling').reason, 'ProgressingWithRetry');
  assert.deepEqual(stored.status.inventory, before.status.inventory, 'inventory unchanged');
  assert.ok(await live(cp, ['configmap', '-n', ns, 'b']), 'b is not pruned although the new revision lacks it');
  assert.equal(
    (await live(cp, ['configmap', '-n', ns, 'a'])).data.v,
    '1',
    'nothing of the failed revision was applied',
  );
  assert.equal(stored.status.lastAppliedRevision, good);
  assert.equal(stored.status.lastAttemptedRevision, broken);
  assert.deepEqual(
    [stored.status.history[0].lastReconciledStatus, stored.status.history[0].metadata.revision],
    ['ReconciliationFailed', broken],
  );
});

test('fault: the source is deleted → ArtifactFailed naming it, nothing pruned, inventory kept; retried at retryInterval', async () => {
  const ns = await freshNamespace(cp, 'ks-nosource');
  await publish(ns, 'app', artifact({ 'a.yaml': cm('a', { v: '1' }) }));
  await kustomization(ns, 'apps', { targetNamespace: ns, retryInterval: '45s' });
  const before = (await reconcile(ns, 'apps')).stored;
  await cp.kubectlOk(['delete', 'ocirepositories.source.toolkit.fluxcd.io', '-n', ns, 'app']);
  const { outcome, stored } = await reconcile(ns, 'apps');
  assert.equal(outcome.requeueAfterMs, 45_000);
  const ready = cond(stored, 'Ready');
  assert.deepEqual(
    [ready.status, ready.reason, ready.message],
    ['False', 'ArtifactFailed', `Source 'OCIRepository/${ns}/app' not found`],
  );
  assert.deepEqual(stored.status.inventory, before.status.inventory);
  assert.ok(await live(cp, ['configmap', '-n', ns, 'a']), 'nothing pruned');
});

test('suspend leaves everything alone; a source without an artifact waits; a kustomization.yaml is BuildFailed', async () => {
  const ns = await freshNamespace(cp, 'ks-misc');
  await client.apply(
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'app', namespace: ns },
      spec: { url: 'oci://registry.example/app', interval: '5m' },
    },
    { fieldManager: 'test', force: true },
  );
  await kustomization(ns, 'apps', { targetNamespace: ns });
  const waiting = await reconcile(ns, 'apps');
  assert.equal(waiting.outcome.requeueAfterMs, 30_000);
  assert.deepEqual(
    [cond(waiting.stored, 'Ready').reason, cond(waiting.stored, 'Ready').message],
    ['ArtifactFailed', 'Source artifact not found, retrying in 30s'],
  );

  await publish(
    ns,
    'app',
    artifact({ 'app/kustomization.yaml': 'resources: [cm.yaml]\n', 'app/cm.yaml': cm('a', { v: '1' }) }),
  );
  await kustomization(ns, 'apps', { targetNamespace: ns, path: 'app' });
  const build = await reconcile(ns, 'apps');
  assert.equal(cond(build.stored, 'Ready').reason, 'BuildFailed');
  assert.match(cond(build.stored, 'Ready').message, /needs a kustomize build.*render .* in CI/);
  assert.equal(await live(cp, ['configmap', '-n', ns, 'a']), undefined);

  await kustomization(ns, 'apps', { targetNamespace: ns, path: 'app', suspend: true });
  const suspended = await reconcile(ns, 'apps');
  assert.equal(suspended.outcome.result, 'suspended');
  assert.deepEqual(suspended.stored.status, build.stored.status, 'status untouched');
});

test('dependsOn: DependencyNotReady and a 30 s requeue until the dependency is Ready at its generation', async () => {
  const ns = await freshNamespace(cp, 'ks-deps');
  await publish(ns, 'app', artifact({ 'a.yaml': cm('a', { v: '1' }) }));
  await kustomization(ns, 'base', { targetNamespace: ns, suspend: true });
  await kustomization(ns, 'apps', { targetNamespace: ns, dependsOn: [{ name: 'base' }] });
  const blocked = await reconcile(ns, 'apps');
  assert.equal(blocked.outcome.result, 'dependency-not-ready');
  assert.equal(blocked.outcome.requeueAfterMs, 30_000);
  assert.deepEqual(
    [cond(blocked.stored, 'Ready').reason, cond(blocked.stored, 'Ready').message],
    ['DependencyNotReady', `dependency '${ns}/base' is not ready`],
  );
  assert.equal(await live(cp, ['configmap', '-n', ns, 'a']), undefined);
  await kustomization(ns, 'base', { targetNamespace: ns, path: 'nothing-here-yet' });
  await kustomization(ns, 'base', { targetNamespace: ns, path: '' });
  assert.equal((await reconcile(ns, 'base')).outcome.result, 'succeeded');
  const ok = await reconcile(ns, 'apps');
  assert.equal(ok.outcome.result, 'succeeded', JSON.stringify(ok.stored.status.conditions));
});

test('wait: a Stalled object is HealthCheckFailed (Ready and Healthy False); once Current, Healthy=True Succeeded', async () => {
  const ns = await freshNamespace(cp, 'ks-health');
  await publish(
    ns,
    'app',
    artifact({ 'w.yaml': `apiVersion: test.pinwarden.dev/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 1\n` }),
  );
  await kustomization(ns, 'apps', { targetNamespace: ns, wait: true, timeout: '30s' });
  await client.apply(
    { apiVersion: 'test.pinwarden.dev/v1', kind: 'Widget', metadata: { name: 'w', namespace: ns }, spec: {} },
    { fieldManager: 'seed', force: true },
  );
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await client.applyStatus(
    {
      apiVersion: 'test.pinwarden.dev/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: ns },
      status: {
        conditions: [{ type: 'Stalled', status: 'True', reason: 'Broken', message: 'broken', lastTransitionTime: now }],
      },
    },
    { fieldManager: 'test-controller', force: true },
  );
  const failed = await reconcile(ns, 'apps');
  assert.equal(failed.outcome.result, 'failed');
  const ready = cond(failed.stored, 'Ready');
  assert.equal(ready.reason, 'HealthCheckFailed');
  assert.match(
    ready.message,
    new RegExp(
      `^health check failed after .*: failed early due to stalled resources: \\[Widget/${ns}/w status: 'Failed'\\]$`,
    ),
  );
  assert.deepEqual(
    [cond(failed.stored, 'Healthy').status, cond(failed.stored, 'Healthy').reason],
    ['False', 'HealthCheckFailed'],
  );
  assert.notEqual(failed.stored.status.lastAppliedRevision, failed.stored.status.lastAttemptedRevision);

  await client.applyStatus(
    {
      apiVersion: 'test.pinwarden.dev/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: ns },
      status: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'Fine', message: 'fine', lastTransitionTime: now }],
      },
    },
    { fieldManager: 'test-controller', force: true },
  );
  const healthy = await reconcile(ns, 'apps');
  assert.equal(healthy.outcome.result, 'succeeded');
  assert.deepEqual(
    [cond(healthy.stored, 'Healthy').status, cond(healthy.stored, 'Healthy').reason],
    ['True', 'Succeeded'],
  );
  assert.match(cond(healthy.stored, 'Healthy').message, /^Health check passed in /);
});

test('healthChecks: only the listed objects are checked (an unlisted InProgress object does not block); a listed one that never becomes Current times out', async () => {
  const ns = await freshNamespace(cp, 'ks-checks');
  await publish(
    ns,
    'app',
    artifact({
      'w.yaml': `apiVersion: test.pinwarden.dev/v1\nkind: Widget\nmetadata:\n  name: ok\nspec: {}\n---\napiVersion: test.pinwarden.dev/v1\nkind: Widget\nmetadata:\n  name: slow\nspec: {}\n`,
    }),
  );
  await client.apply(
    { apiVersion: 'test.pinwarden.dev/v1', kind: 'Widget', metadata: { name: 'slow', namespace: ns }, spec: {} },
    { fieldManager: 'seed', force: true },
  );
  await client.applyStatus(
    {
      apiVersion: 'test.pinwarden.dev/v1',
      kind: 'Widget',
      metadata: { name: 'slow', namespace: ns },
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'Waiting',
            message: 'waiting',
            lastTransitionTime: '2026-01-01T00:00:00Z',
          },
        ],
      },
    },
    { fieldManager: 'test-controller', force: true },
  );
  const check = (name: string): Loose => ({ apiVersion: 'test.pinwarden.dev/v1', kind: 'Widget', name, namespace: ns });
  await kustomization(ns, 'apps', { targetNamespace: ns, healthChecks: [check('ok')], timeout: '30s' });
  const passed = await reconcile(ns, 'apps');
  assert.equal(passed.outcome.result, 'succeeded', JSON.stringify(passed.stored.status.conditions));
  assert.equal(cond(passed.stored, 'Healthy').status, 'True');

  await kustomization(ns, 'apps', { targetNamespace: ns, healthChecks: [check('ok'), check('slow')], timeout: '30s' });
  let clock = 0;
  const timedOut = await reconcile(ns, 'apps', {
    now: () => new Date(clock),
    sleep: async (ms) => {
      clock += ms;
    },
  });
  assert.equal(timedOut.outcome.result, 'failed');
  assert.match(
    cond(timedOut.stored, 'Ready').message,
    new RegExp(`^health check failed after 30s: timeout waiting for: \\[Widget/${ns}/slow status: 'InProgress'\\]$`),
  );
  assert.equal(cond(timedOut.stored, 'Healthy').reason, 'HealthCheckFailed');
});

test('serviceAccountName: applies by impersonation, so RBAC limits the tenant (Forbidden names the object)', async () => {
  const ns = await freshNamespace(cp, 'ks-tenant');
  await configMapDeployer(cp, ns, 'get,list,watch,create,update,patch,delete');
  await publish(
    ns,
    'app',
    artifact({
      'a.yaml': cm('a', { v: '1' }),
      'role.yaml': `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: escalate-${ns}\nrules:\n- apiGroups: ["*"]\n  resources: ["*"]\n  verbs: ["*"]\n`,
    }),
  );
  await kustomization(ns, 'apps', { targetNamespace: ns, serviceAccountName: 'deployer' });
  const { stored } = await reconcile(ns, 'apps');
  const ready = cond(stored, 'Ready');
  assert.equal(ready.reason, 'ReconciliationFailed');
  assert.match(
    ready.message,
    new RegExp(`^ClusterRole/escalate-${ns} .*Forbidden.*system:serviceaccount:${ns}:deployer`),
  );
  assert.equal(await live(cp, ['clusterrole', `escalate-${ns}`]), undefined);
});
