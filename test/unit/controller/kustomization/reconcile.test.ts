// The Kustomization reconciler's decisions that need no apiserver: spec defaults, the steps that stop before
// any apply (validation, source, dependsOn, access), and finalizeStatus. Sources and dependencies come from an
// in-memory ObjectClient; the apply path itself is covered on the real apiserver (test/integration/cluster/apply/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObjectBody, ObjectClient, ObjectRef } from '../../../../src/kube/index.ts';
import { readSpec, reconcileKustomization } from '../../../../src/controller/kustomization/index.ts';
import type { KustomizationObject } from '../../../../src/controller/kustomization/index.ts';

function memoryClient(objects: KubeObjectBody[]): ObjectClient & { applied: number } {
  const key = (ref: ObjectRef): string => `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
  const map = new Map(
    objects.map((object) => [
      key({
        apiVersion: object.apiVersion,
        kind: object.kind,
        namespace: object.metadata.namespace,
        name: object.metadata.name ?? '',
      }),
      object,
    ]),
  );
  const client = {
    applied: 0,
    scope: async () => 'Namespaced' as const,
    get: async (ref: ObjectRef) => map.get(key(ref)),
    apply: async (object: KubeObjectBody) => {
      client.applied++;
      return object;
    },
    applyStatus: async (object: KubeObjectBody) => object,
    jsonPatch: async () => assert.fail('no patch expected'),
    delete: async () => assert.fail('no delete expected'),
  };
  return client;
}

const DIGEST = `sha256:${'a'.repeat(64)}`;
const source = (namespace = 'apps', artifact = true): KubeObjectBody => ({
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'OCIRepository',
  metadata: { name: 'app', namespace },
  ...(artifact ? { status: { artifact: { digest: DIGEST, revision: `v1@${DIGEST}` } } } : {}),
});
const ks = (spec: Record<string, unknown>, extra: Partial<KustomizationObject> = {}): KustomizationObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: 'web', namespace: 'apps', generation: 3 },
  spec: { interval: '5m', prune: true, sourceRef: { kind: 'OCIRepository', name: 'app' }, ...spec },
  ...extra,
});
const fixedNow = (): Date => new Date('2026-12-03T07:00:00.123Z');

async function run(object: KustomizationObject, objects: KubeObjectBody[], options = {}) {
  const client = memoryClient(objects);
  const outcome = await reconcileKustomization(object, {
    client,
    clientFor: () => client,
    artifacts: { directoryFor: async () => undefined },
    now: fixedNow,
    options,
  });
  const ready = outcome.status.conditions?.find((condition) => condition.type === 'Ready');
  return { outcome, ready, client };
}

test('spec defaults: retryInterval = interval; timeout = interval − 30s, never under 30s', () => {
  assert.deepEqual([readSpec(ks({})).retryIntervalMs, readSpec(ks({})).timeoutMs], [300_000, 270_000]);
  assert.equal(readSpec(ks({ interval: '40s' })).timeoutMs, 30_000);
  assert.equal(readSpec(ks({ timeout: '10s' })).timeoutMs, 30_000);
  assert.equal(readSpec(ks({ timeout: '2m', retryInterval: '1m' })).timeoutMs, 120_000);
  assert.equal(readSpec(ks({ retryInterval: '1m' })).retryIntervalMs, 60_000);
  assert.equal(
    readSpec(ks({ sourceRef: { kind: 'OCIRepository', name: 'x', namespace: 'other' } })).sourceRef.namespace,
    'other',
  );
  assert.deepEqual(readSpec(ks({ interval: 'soon' })).problems, ['spec.interval is not a duration']);
});

test('build-time fields are BuildFailed telling to render in CI; nothing is read or applied', async () => {
  const { outcome, ready, client } = await run(
    ks({ patches: [{ patch: 'x' }], postBuild: { substitute: { a: 'b' } } }),
    [source()],
  );
  assert.equal(ready?.reason, 'BuildFailed');
  assert.match(ready.message, /spec\.patches, spec\.postBuild need a kustomize build.*render them in CI/);
  assert.equal(outcome.requeueAfterMs, 300_000);
  assert.equal(client.applied, 0);
});

test('source: unsupported kind, missing object, missing artifact, artifact not in the store', async () => {
  const git = await run(ks({ sourceRef: { kind: 'GitRepository', name: 'app' } }), []);
  assert.equal(git.ready?.reason, 'ArtifactFailed');
  assert.match(git.ready.message, /GitRepository.*not supported/);
  const missing = await run(ks({}), []);
  assert.equal(missing.ready?.message, "Source 'OCIRepository/apps/app' not found");
  assert.equal(missing.outcome.requeueAfterMs, 300_000);
  const noArtifact = await run(ks({}), [source('apps', false)]);
  assert.equal(noArtifact.ready?.message, 'Source artifact not found, retrying in 30s');
  assert.equal(noArtifact.outcome.requeueAfterMs, 30_000);
  const notStored = await run(ks({}), [source()]);
  assert.equal(notStored.ready?.message, 'Source is not ready, artifact not found, retrying in 30s');
  assert.equal(
    notStored.outcome.status.conditions?.find((condition) => condition.type === 'Reconciling')?.reason,
    'ProgressingWithRetry',
    'a failed reconcile leaves Reconciling as ProgressingWithRetry',
  );
});

test('--no-cross-namespace-refs: AccessDenied and Stalled', async () => {
  const { ready, outcome } = await run(
    ks({ sourceRef: { kind: 'OCIRepository', name: 'app', namespace: 'other' } }),
    [source('other')],
    { noCrossNamespaceRefs: true },
  );
  assert.equal(ready?.reason, 'AccessDenied');
  assert.equal(outcome.result, 'stalled');
  assert.equal(outcome.status.conditions?.find((condition) => condition.type === 'Stalled')?.status, 'True');
});

test('dependsOn: not found, not ready, stale generation, revision not up to date (same source), readyExpr refused', async () => {
  const dep = (status: Record<string, unknown>, generation = 1, sourceName = 'app'): KubeObjectBody => ({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'base', namespace: 'apps', generation },
    spec: { sourceRef: { kind: 'OCIRepository', name: sourceName } },
    status,
  });
  const readyTrue = [
    { type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'ok', lastTransitionTime: 'x' },
  ];
  const object = ks({ dependsOn: [{ name: 'base' }] });
  const cases: Array<[KubeObjectBody[], string]> = [
    [[source()], "dependency 'apps/base' not found"],
    [
      [source(), dep({ observedGeneration: 1, conditions: [{ ...readyTrue[0], status: 'False' }] })],
      "dependency 'apps/base' is not ready",
    ],
    [[source(), dep({ observedGeneration: 1, conditions: readyTrue }, 2)], "dependency 'apps/base' is not ready"],
    [
      [source(), dep({ observedGeneration: 1, conditions: readyTrue, lastAppliedRevision: 'v0@sha256:old' })],
      "dependency 'apps/base' revision is not up to date",
    ],
  ];
  for (const [objects, message] of cases) {
    const { outcome, ready } = await run(object, objects);
    assert.deepEqual(
      [ready?.reason, ready?.message, outcome.result, outcome.requeueAfterMs],
      ['DependencyNotReady', message, 'dependency-not-ready', 30_000],
    );
    assert.ok(
      outcome.events.some((event) => event.message === 'Dependencies do not meet ready condition, retrying in 30s'),
    );
  }
  // Another source: its revision is not compared; the step passes on to the artifact.
  const passed = await run(object, [
    source(),
    dep({ observedGeneration: 1, conditions: readyTrue, lastAppliedRevision: 'other' }, 1, 'elsewhere'),
  ]);
  assert.equal(passed.ready?.reason, 'ArtifactFailed');
  const cel = await run(ks({ dependsOn: [{ name: 'base', readyExpr: 'dep.status.x == 1' }] }), [source()]);
  assert.equal(cel.ready?.reason, 'InvalidCELExpression');
  assert.equal(cel.outcome.result, 'stalled');
});

test('suspend returns the status untouched; lastHandledReconcileAt copies the request annotation', async () => {
  const status = {
    conditions: [
      {
        type: 'Ready',
        status: 'True' as const,
        reason: 'ReconciliationSucceeded',
        message: 'Applied revision: x',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
  };
  const suspended = await run(ks({ suspend: true }, { status }), [source()]);
  assert.equal(suspended.outcome.result, 'suspended');
  assert.deepEqual(suspended.outcome.status, status);
  const requested = await run(
    {
      ...ks({}),
      metadata: {
        name: 'web',
        namespace: 'apps',
        generation: 3,
        annotations: { 'reconcile.fluxcd.io/requestedAt': '2026-12-03T06:59:00Z' },
      },
    },
    [],
  );
  assert.equal(requested.outcome.status.lastHandledReconcileAt, '2026-12-03T06:59:00Z');
});

test('spec.kubeConfig is read (no longer a build field): secretRef with an optional key, configMapRef, malformed refs', () => {
  assert.deepEqual(readSpec(ks({ kubeConfig: { secretRef: { name: 'kc' } } })).kubeConfig, {
    kind: 'Secret',
    name: 'kc',
  });
  assert.deepEqual(readSpec(ks({ kubeConfig: { secretRef: { name: 'kc', key: 'cfg' } } })).kubeConfig, {
    kind: 'Secret',
    name: 'kc',
    key: 'cfg',
  });
  assert.deepEqual(readSpec(ks({ kubeConfig: { configMapRef: { name: 'wi' } } })).kubeConfig, {
    kind: 'ConfigMap',
    name: 'wi',
  });
  assert.equal(readSpec(ks({ kubeConfig: { secretRef: {} } })).kubeConfig?.kind, 'invalid');
  assert.equal(readSpec(ks({ kubeConfig: {} })).kubeConfig?.kind, 'invalid');
  assert.deepEqual(readSpec(ks({ kubeConfig: { secretRef: { name: 'kc' } } })).unsupported, []);
  assert.equal(readSpec(ks({})).kubeConfig, undefined);
});
