// Issue #10 item 4: the apply engine against a real kube-apiserver + etcd — Flux's stages, server-side apply
// with field manager `pinwarden`, drift detection, ssa/reconcile/force markers, ownership takeover, prune by
// inventory, kstatus waits, and impersonation. Field managers are read back from the live objects.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import { createObjectClient, serviceAccountUser } from '../../../../src/kube/index.ts';
import type { ObjectClient } from '../../../../src/kube/index.ts';
import { applySet, prune, waitForCurrent } from '../../../../src/controller/apply/index.ts';
import type { KubeObject } from '../../../../src/controller/apply/index.ts';
import { isPinwardenError } from '../../../../src/core/errors.ts';
import { WIDGET_CRD, configMap, configMapDeployer, freshNamespace, live, managers } from './fixtures.ts';

let cp: ControlPlane;
let client: ObjectClient;
const owner = { name: 'apps', namespace: 'flux-system' };
const fast = { stageIntervalMs: 200, stageTimeoutMs: 30_000 };

before(async () => {
  cp = await startControlPlane({ fluxCrds: 'none' });
  client = createObjectClient(cp.kubeConfig());
});
after(() => cp?.stop());

async function rejects(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  assert.fail('expected a rejection');
}

test('stages: a CRD, a Namespace and their objects in one set; the CR waits for Established; owned by pinwarden with Flux labels', async () => {
  const ns = `stage-${process.pid % 10000}`;
  const widget: KubeObject = {
    apiVersion: 'test.pinwarden.dev/v1',
    kind: 'Widget',
    metadata: { name: 'w1', namespace: ns },
    spec: { size: 3 },
  };
  const objects: KubeObject[] = [
    widget,
    configMap(ns, 'settings', { a: '1' }),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    WIDGET_CRD,
  ];
  const result = await applySet(objects, { client, owner, ...fast });
  assert.deepEqual(
    result.entries.map((entry) => `${entry.subject}:${entry.action}`),
    [
      'CustomResourceDefinition/widgets.test.pinwarden.dev:created',
      `Namespace/${ns}:created`,
      `ConfigMap/${ns}/settings:created`,
      `Widget/${ns}/w1:created`,
    ],
  );
  assert.deepEqual(result.inventory, [
    { id: '_widgets.test.pinwarden.dev_apiextensions.k8s.io_CustomResourceDefinition', v: 'v1' },
    { id: `_${ns}__Namespace`, v: 'v1' },
    { id: `${ns}_settings__ConfigMap`, v: 'v1' },
    { id: `${ns}_w1_test.pinwarden.dev_Widget`, v: 'v1' },
  ]);
  const cr = await live(cp, ['widgets.test.pinwarden.dev', '-n', ns, 'w1']);
  assert.equal(cr.spec.size, 3);
  assert.deepEqual(managers(cr), ['pinwarden/Apply']);
  assert.equal(cr.metadata.labels['kustomize.toolkit.fluxcd.io/name'], 'apps');
  assert.equal(cr.metadata.labels['kustomize.toolkit.fluxcd.io/namespace'], 'flux-system');
  assert.deepEqual(managers(await live(cp, ['configmap', '-n', ns, 'settings'])), ['pinwarden/Apply']);
});

test('drift detection: an unchanged set keeps every resourceVersion; only the changed object and a live edit are applied', async () => {
  const ns = await freshNamespace(cp, 'drift');
  const set = [configMap(ns, 'one', { a: '1' }), configMap(ns, 'two', { b: '2' }), configMap(ns, 'three', { c: '3' })];
  await applySet(set, { client, owner, ...fast });
  const before = await Promise.all(['one', 'two', 'three'].map((name) => live(cp, ['configmap', '-n', ns, name])));
  const again = await applySet(set, { client, owner, ...fast });
  assert.deepEqual(
    again.entries.map((entry) => entry.action),
    ['unchanged', 'unchanged', 'unchanged'],
  );
  const still = await Promise.all(['one', 'two', 'three'].map((name) => live(cp, ['configmap', '-n', ns, name])));
  assert.deepEqual(
    still.map((object) => object.metadata.resourceVersion),
    before.map((object) => object.metadata.resourceVersion),
  );

  // Someone edits `three` by hand; the manifest of `two` changes.
  await cp.kubectlOk(['patch', 'configmap', '-n', ns, 'three', '--type=merge', '-p', '{"data":{"c":"hand-edited"}}']);
  const changed = [set[0]!, configMap(ns, 'two', { b: '22' }), set[2]!];
  const third = await applySet(changed, { client, owner, ...fast });
  assert.deepEqual(Object.fromEntries(third.entries.map((entry) => [entry.id.name, entry.action])), {
    one: 'unchanged',
    two: 'configured',
    three: 'configured',
  });
  assert.equal((await live(cp, ['configmap', '-n', ns, 'three'])).data.c, '3', 'the live edit was reverted');
  assert.equal((await live(cp, ['configmap', '-n', ns, 'two'])).data.b, '22');
  assert.equal(
    (await live(cp, ['configmap', '-n', ns, 'one'])).metadata.resourceVersion,
    before[0].metadata.resourceVersion,
  );
});

test('ssa: IfNotPresent creates once and never overwrites; Ignore and reconcile: disabled are never applied but stay in the inventory', async () => {
  const ns = await freshNamespace(cp, 'ssa');
  const ifNotPresent = configMap(
    ns,
    'seed',
    { v: 'first' },
    { annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent' } },
  );
  const ignored = configMap(
    ns,
    'ignored',
    { v: 'x' },
    { annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'ignore' } },
  );
  const disabled = configMap(
    ns,
    'disabled',
    { v: 'x' },
    { labels: { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' } },
  );
  const first = await applySet([ifNotPresent, ignored, disabled], { client, owner, ...fast });
  assert.deepEqual(Object.fromEntries(first.entries.map((entry) => [entry.id.name, entry.action])), {
    seed: 'created',
    ignored: 'skipped',
    disabled: 'skipped',
  });
  assert.equal(first.inventory.length, 3);
  assert.equal(await live(cp, ['configmap', '-n', ns, 'ignored']), undefined);
  assert.equal(await live(cp, ['configmap', '-n', ns, 'disabled']), undefined);
  const second = await applySet(
    [configMap(ns, 'seed', { v: 'second' }, { annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent' } })],
    { client, owner, ...fast },
  );
  assert.equal(second.entries[0]!.action, 'skipped');
  assert.equal((await live(cp, ['configmap', '-n', ns, 'seed'])).data.v, 'first');

  // A live object someone marked `reconcile: disabled` is left alone even though the manifest changed.
  await applySet([configMap(ns, 'frozen', { v: '1' })], { client, owner, ...fast });
  await cp.kubectlOk(['annotate', 'configmap', '-n', ns, 'frozen', 'kustomize.toolkit.fluxcd.io/reconcile=disabled']);
  const third = await applySet([configMap(ns, 'frozen', { v: '2' })], { client, owner, ...fast });
  assert.equal(third.entries[0]!.action, 'skipped');
  assert.equal((await live(cp, ['configmap', '-n', ns, 'frozen'])).data.v, '1');
});

test('ownership: kubectl-applied objects are taken over (managedFields, last-applied annotation) unless ssa: Merge', async () => {
  const ns = await freshNamespace(cp, 'takeover');
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify(configMap(ns, 'legacy', { keep: '1', drop: '2' })),
  });
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(configMap(ns, 'merged', { mine: '1' })) });
  const beforeLegacy = await live(cp, ['configmap', '-n', ns, 'legacy']);
  assert.ok(
    managers(beforeLegacy).some((name) => name.startsWith('kubectl-client-side-apply')),
    managers(beforeLegacy).join(),
  );
  assert.ok(beforeLegacy.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);

  const result = await applySet(
    [
      configMap(ns, 'legacy', { keep: '1' }),
      configMap(ns, 'merged', { theirs: '2' }, { annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'Merge' } }),
    ],
    { client, owner, ...fast },
  );
  assert.deepEqual(
    result.entries.map((entry) => entry.action),
    ['configured', 'configured'],
  );
  const legacy = await live(cp, ['configmap', '-n', ns, 'legacy']);
  assert.deepEqual(managers(legacy), ['pinwarden/Apply'], "kubectl's fields now belong to pinwarden");
  assert.equal(legacy.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined);
  assert.deepEqual(legacy.data, { keep: '1' }, 'a field dropped from the manifest is removed once pinwarden owns it');
  const merged = await live(cp, ['configmap', '-n', ns, 'merged']);
  assert.ok(managers(merged).includes('pinwarden/Apply'));
  assert.ok(
    managers(merged).some((name) => name.startsWith('kubectl-client-side-apply')),
    'Merge keeps the other manager',
  );
  assert.deepEqual(merged.data, { mine: '1', theirs: '2' });
  assert.ok(
    merged.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'],
    'Merge skips the metadata cleanup',
  );
});

test('force: an immutable change fails naming the object and reason; spec.force or the force annotation recreates it', async () => {
  const ns = await freshNamespace(cp, 'force');
  await applySet(
    [
      configMap(ns, 'frozen', { v: '1' }, { immutable: true }),
      configMap(ns, 'marked', { v: '1' }, { immutable: true }),
    ],
    { client, owner, ...fast },
  );
  const uid = (await live(cp, ['configmap', '-n', ns, 'frozen'])).metadata.uid;
  const error = await rejects(
    applySet([configMap(ns, 'frozen', { v: '2' }, { immutable: true })], { client, owner, ...fast }),
  );
  assert.ok(isPinwardenError(error) && error.code === 'PW_APPLY_FAILED');
  assert.match(error.message, new RegExp(`^ConfigMap/${ns}/frozen dry-run failed \\(Invalid\\): .*immutable`));
  assert.equal((await live(cp, ['configmap', '-n', ns, 'frozen'])).data.v, '1');

  const forced = await applySet([configMap(ns, 'frozen', { v: '2' }, { immutable: true })], {
    client,
    owner,
    force: true,
    ...fast,
  });
  assert.equal(forced.entries[0]!.action, 'created');
  const recreated = await live(cp, ['configmap', '-n', ns, 'frozen']);
  assert.notEqual(recreated.metadata.uid, uid);
  assert.equal(recreated.data.v, '2');

  const marked = await applySet(
    [
      configMap(
        ns,
        'marked',
        { v: '2' },
        { immutable: true, annotations: { 'kustomize.toolkit.fluxcd.io/force': 'Enabled' } },
      ),
    ],
    { client, owner, ...fast },
  );
  assert.equal(marked.entries[0]!.action, 'created');
  assert.equal((await live(cp, ['configmap', '-n', ns, 'marked'])).data.v, '2');
});

test('one refused object stops the apply: the error names it and the apiserver reason; later objects are not applied', async () => {
  const ns = await freshNamespace(cp, 'refuse');
  const bad: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'bad', namespace: ns },
    spec: { ports: [{ port: 99999 }] },
  };
  const error = await rejects(
    applySet(
      [
        configMap(ns, 'ok', { a: '1' }),
        bad,
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'later', namespace: ns }, stringData: { a: 'b' } },
      ],
      { client, owner, ...fast },
    ),
  );
  assert.ok(isPinwardenError(error) && error.code === 'PW_APPLY_FAILED');
  assert.match(error.message, new RegExp(`^Service/${ns}/bad dry-run failed \\(Invalid\\): .*port`));
  assert.equal(
    await live(cp, ['configmap', '-n', ns, 'ok']),
    undefined,
    'nothing of the stage is applied after a dry-run refusal',
  );
  assert.equal(await live(cp, ['secret', '-n', ns, 'later']), undefined);

  const missingNs = await rejects(applySet([configMap(undefined, 'nowhere', { a: '1' })], { client, owner, ...fast }));
  assert.match(missingNs.message, /^ConfigMap\/nowhere namespace not specified/);
  const unknownKind = await rejects(
    applySet([{ apiVersion: 'nope.example/v1', kind: 'Thing', metadata: { name: 'x', namespace: ns } }], {
      client,
      owner,
      ...fast,
    }),
  );
  assert.match(unknownKind.message, /Thing\/.*\/x .*no matches for kind "Thing"/);
});

test('prune: only stale entries this Kustomization owns; prune: disabled, foreign owners and gone objects are kept out', async () => {
  const ns = await freshNamespace(cp, 'prune');
  const first = await applySet(
    [
      configMap(ns, 'keep', {}),
      configMap(ns, 'stale', {}),
      configMap(ns, 'pinned', {}, { annotations: { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' } }),
      configMap(ns, 'stolen', {}),
      configMap(ns, 'vanished', {}),
    ],
    { client, owner, ...fast },
  );
  await applySet([configMap(ns, 'stolen', {})], { client, owner: { name: 'other', namespace: 'team-b' }, ...fast });
  await cp.kubectlOk(['delete', 'configmap', '-n', ns, 'vanished']);
  const second = await applySet([configMap(ns, 'keep', {})], { client, owner, ...fast });
  const result = await prune(client, owner, first.inventory, second.inventory);
  assert.equal(result.error, undefined);
  assert.deepEqual(Object.fromEntries(result.entries.map((entry) => [entry.id.name, entry.action])), {
    stale: 'deleted',
    pinned: 'skipped',
    stolen: 'skipped',
    vanished: 'gone',
  });
  assert.equal(await live(cp, ['configmap', '-n', ns, 'stale']), undefined);
  assert.ok(await live(cp, ['configmap', '-n', ns, 'pinned']));
  assert.ok(await live(cp, ['configmap', '-n', ns, 'stolen']));
  assert.ok(await live(cp, ['configmap', '-n', ns, 'keep']));
  assert.deepEqual(result.inventory, second.inventory);
});

test('kstatus waits: Ready=True is Current, Stalled fails early, a Deployment without a controller times out', async () => {
  const ns = await freshNamespace(cp, 'health');
  await applySet([WIDGET_CRD], { client, owner, ...fast });
  await applySet(
    [
      { apiVersion: 'test.pinwarden.dev/v1', kind: 'Widget', metadata: { name: 'ready', namespace: ns }, spec: {} },
      { apiVersion: 'test.pinwarden.dev/v1', kind: 'Widget', metadata: { name: 'stalled', namespace: ns }, spec: {} },
    ],
    { client, owner, ...fast },
  );
  const setStatus = async (name: string, conditions: unknown[]): Promise<void> => {
    await client.applyStatus(
      {
        apiVersion: 'test.pinwarden.dev/v1',
        kind: 'Widget',
        metadata: { name, namespace: ns },
        status: { conditions },
      },
      { fieldManager: 'test-controller', force: true },
    );
  };
  const condition = (type: string, status: string): unknown => ({
    type,
    status,
    reason: 'Test',
    message: `${type} is ${status}`,
    lastTransitionTime: new Date().toISOString(),
  });
  await setStatus('ready', [condition('Ready', 'True')]);
  await setStatus('stalled', [condition('Ready', 'False'), condition('Stalled', 'True')]);
  const target = (
    name: string,
    kind = 'Widget',
    group = 'test.pinwarden.dev',
  ): { id: { namespace: string; name: string; group: string; kind: string }; version: string } => ({
    id: { namespace: ns, name, group, kind },
    version: 'v1',
  });
  const ok = await waitForCurrent(client, [target('ready')], { timeoutMs: 10_000, intervalMs: 100 });
  assert.equal(ok.ok, true);
  let clock = 0;
  const bounded = {
    timeoutMs: 5_000,
    intervalMs: 1_000,
    now: () => clock,
    sleep: async (ms: number) => {
      clock += ms;
    },
  };
  const stalled = await waitForCurrent(client, [target('ready'), target('stalled')], bounded);
  assert.equal(stalled.ok, false);
  assert.match(
    stalled.message,
    new RegExp(`^failed early due to stalled resources: \\[Widget/${ns}/stalled status: 'Failed'`),
  );
  assert.equal(clock, 0, 'fail-fast: no polling once one object is Failed');

  await applySet(
    [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: ns },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'example.invalid/web:1' }] },
          },
        },
      },
    ],
    { client, owner, ...fast },
  );
  clock = 0;
  const timedOut = await waitForCurrent(client, [target('web', 'Deployment', 'apps')], bounded);
  assert.equal(timedOut.ok, false);
  assert.match(timedOut.message, new RegExp(`^timeout waiting for: \\[Deployment/${ns}/web status: 'InProgress'`));
  assert.ok(clock >= 5_000);
});

test('impersonation: a ServiceAccount allowed only ConfigMaps in its namespace applies them, and is refused a Secret (Forbidden)', async () => {
  const ns = await freshNamespace(cp, 'tenant');
  await configMapDeployer(cp, ns, 'get,list,watch,create,update,patch,delete');
  const tenant = createObjectClient(cp.kubeConfig(), { impersonate: { user: serviceAccountUser(ns, 'deployer') } });
  const ok = await applySet([configMap(ns, 'allowed', { a: '1' })], { client: tenant, owner, ...fast });
  assert.equal(ok.entries[0]!.action, 'created');
  assert.deepEqual(managers(await live(cp, ['configmap', '-n', ns, 'allowed'])), ['pinwarden/Apply']);
  const error = await rejects(
    applySet(
      [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'nope', namespace: ns }, stringData: { a: 'b' } }],
      { client: tenant, owner, ...fast },
    ),
  );
  assert.match(error.message, new RegExp(`^Secret/${ns}/nope .*\\(Forbidden\\).*system:serviceaccount:${ns}:deployer`));
  const other = await freshNamespace(cp, 'tenant-other');
  const elsewhere = await rejects(applySet([configMap(other, 'x', {})], { client: tenant, owner, ...fast }));
  assert.match(elsewhere.message, /Forbidden/);
  assert.equal(await live(cp, ['configmap', '-n', other, 'x']), undefined);
});
