// Deleting a Kustomization (#10, Flux's `finalize`) without an apiserver: which deletion policies delete, the
// change-set Event, the ServiceAccount gone, a failed deletion keeping the finalizer, WaitForTermination within
// spec.timeout on an injected clock, and an object that is not pinwarden's to finalize. The real apiserver runs
// the same paths in test/integration/cluster/apply/finalizers.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, KubeObjectBody, ObjectClient, ObjectRef } from '../../../../src/kube/index.ts';
import {
  changeSetMessage,
  createKustomizationController,
  finalizeKustomization,
  readSpec,
  shouldDeleteResources,
} from '../../../../src/controller/kustomization/index.ts';
import type { FinalizeDeps } from '../../../../src/controller/kustomization/index.ts';
import { FINALIZER, finalizerPatch } from '../../../../src/controller/runtime/index.ts';
import type { FinalizerWriter, RecordedEvent } from '../../../../src/controller/runtime/index.ts';
import { waitForTermination } from '../../../../src/controller/apply/index.ts';

const OWNER = { 'kustomize.toolkit.fluxcd.io/name': 'web', 'kustomize.toolkit.fluxcd.io/namespace': 'apps' };

const configMap = (name: string, labels: Record<string, string> = OWNER, annotations?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'apps', labels, ...(annotations ? { annotations } : {}) },
});

function kustomization(spec: Record<string, unknown>, inventory: string[], extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: {
      name: 'web',
      namespace: 'apps',
      uid: 'ks-1',
      resourceVersion: '7',
      deletionTimestamp: '2026-12-03T10:00:00Z',
      finalizers: [FINALIZER],
      ...extra,
    },
    spec: { interval: '5m', prune: true, sourceRef: { kind: 'OCIRepository', name: 'app' }, ...spec },
    status: {
      lastAppliedRevision: 'v1@sha256:abc',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'ReconciliationSucceeded',
          message: 'Applied revision: v1@sha256:abc',
          lastTransitionTime: '2026-12-03T09:00:00Z',
        },
      ],
      inventory: { entries: inventory.map((name) => ({ id: `apps_${name}__ConfigMap`, v: 'v1' })) },
    },
  } as unknown as KubeObject;
}

interface World {
  client: ObjectClient;
  deleted: string[];
  /** Objects that stay after a delete (held by a finalizer) for this many reads. */
  lingering: Map<string, number>;
  failDelete: Set<string>;
  reads: string[];
}

function world(objects: KubeObjectBody[], serviceAccounts: string[] = []): World {
  const key = (ref: ObjectRef): string => `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
  const map = new Map<string, KubeObjectBody>(
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
  for (const name of serviceAccounts)
    map.set(`ServiceAccount/apps/${name}`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace: 'apps' },
    });
  const w: World = { deleted: [], lingering: new Map(), failDelete: new Set(), reads: [], client: undefined as never };
  w.client = {
    scope: async () => 'Namespaced',
    get: async (ref) => {
      w.reads.push(key(ref));
      const left = w.lingering.get(key(ref));
      if (left !== undefined) {
        if (left <= 0) {
          w.lingering.delete(key(ref));
          map.delete(key(ref));
        } else w.lingering.set(key(ref), left - 1);
      }
      return map.get(key(ref));
    },
    apply: async () => assert.fail('nothing is applied while deleting'),
    applyStatus: async () => assert.fail('no status is applied while deleting'),
    jsonPatch: async () => assert.fail('no patch expected'),
    delete: async (ref) => {
      if (w.failDelete.has(ref.name)) throw new Error(`configmaps "${ref.name}" is forbidden`);
      if (!map.has(key(ref))) return false;
      w.deleted.push(ref.name);
      if (!w.lingering.has(key(ref))) map.delete(key(ref));
      return true;
    },
  };
  return w;
}

function finalizers(): FinalizerWriter & { removed: KubeObject[] } {
  const writer = {
    name: FINALIZER,
    removed: [] as KubeObject[],
    add: async () => assert.fail('no finalizer is added to an object being deleted'),
    remove: async (object: KubeObject) => {
      writer.removed.push(object);
      return { object: undefined, written: true, gone: false };
    },
  };
  return writer;
}

async function finalize(
  object: KubeObject,
  w: World,
  extra: Partial<FinalizeDeps> = {},
): Promise<{
  outcome: Awaited<ReturnType<typeof finalizeKustomization>>;
  writer: ReturnType<typeof finalizers>;
  events: RecordedEvent[];
  accounts: unknown[];
}> {
  const writer = finalizers();
  const events: RecordedEvent[] = [];
  const accounts: unknown[] = [];
  const live = world([object as unknown as KubeObjectBody]);
  const deps: FinalizeDeps = {
    client: {
      ...w.client,
      get: async (ref) => (ref.kind === 'Kustomization' ? live.client.get(ref) : w.client.get(ref)),
    },
    clientFor: (account) => {
      accounts.push(account);
      return w.client;
    },
    finalizers: writer,
    events: {
      record: async (_object, event) => {
        events.push(event);
      },
      dropped: () => 0,
    },
    ...extra,
  };
  const outcome = await finalizeKustomization(object, deps, new AbortController().signal);
  return { outcome, writer, events, accounts };
}

const view = (spec: Record<string, unknown>) => readSpec({ metadata: { name: 'web', namespace: 'apps' }, spec });

test('deletionPolicy: MirrorPrune (default) follows prune; Delete and WaitForTermination always; Orphan never', () => {
  assert.equal(view({}).deletionPolicy, 'MirrorPrune');
  const cases: Array<[Record<string, unknown>, number, boolean]> = [
    [{ prune: true }, 2, true],
    [{ prune: false }, 2, false],
    [{ prune: true, deletionPolicy: 'MirrorPrune' }, 2, true],
    [{ prune: false, deletionPolicy: 'Delete' }, 2, true],
    [{ prune: false, deletionPolicy: 'WaitForTermination' }, 2, true],
    [{ prune: true, deletionPolicy: 'Orphan' }, 2, false],
    [{ prune: true, deletionPolicy: 'Shred' }, 2, false],
    [{ prune: true, suspend: true }, 2, false],
    [{ prune: true, deletionPolicy: 'Delete', suspend: true }, 2, false],
    [{ prune: true, deletionPolicy: 'Delete' }, 0, false],
  ];
  for (const [spec, inventory, expected] of cases)
    assert.equal(shouldDeleteResources(view(spec), inventory), expected, JSON.stringify({ spec, inventory }));
});

test('prune: true → every owned object deleted, prune: disabled and another owner kept, one change-set Event', async () => {
  const w = world([
    configMap('a'),
    configMap('keep', OWNER, { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' }),
    configMap('theirs', { ...OWNER, 'kustomize.toolkit.fluxcd.io/name': 'other' }),
  ]);
  const { outcome, writer, events } = await finalize(kustomization({}, ['a', 'keep', 'theirs', 'gone']), w);
  assert.equal(outcome.result, 'finalized');
  assert.deepEqual(w.deleted, ['a']);
  assert.equal(writer.removed.length, 1, 'the finalizer is removed');
  assert.deepEqual(events, [
    {
      type: 'Normal',
      reason: 'ReconciliationSucceeded',
      // DeleteAll's order: the apply order reversed.
      message: [
        'ConfigMap/apps/theirs skipped',
        'ConfigMap/apps/keep skipped',
        'ConfigMap/apps/gone deleted',
        'ConfigMap/apps/a deleted',
      ].join('\n'),
      annotations: { 'kustomize.toolkit.fluxcd.io/revision': 'v1@sha256:abc' },
    },
  ]);
});

test('prune: false, Orphan and suspend keep everything; the finalizer still goes', async () => {
  for (const spec of [{ prune: false }, { deletionPolicy: 'Orphan' }, { suspend: true, deletionPolicy: 'Delete' }]) {
    const w = world([configMap('a')]);
    const { outcome, writer, events } = await finalize(kustomization(spec, ['a']), w);
    assert.equal(outcome.result, 'finalized');
    assert.deepEqual(w.deleted, [], JSON.stringify(spec));
    assert.equal(writer.removed.length, 1);
    assert.deepEqual(events, []);
  }
});

test('serviceAccountName: deletions go through the impersonated client; the account gone → Warning, nothing deleted, finalizer removed', async () => {
  const present = world([configMap('a')], ['deployer']);
  const ok = await finalize(kustomization({ serviceAccountName: 'deployer' }, ['a']), present);
  assert.deepEqual(ok.accounts, [{ namespace: 'apps', name: 'deployer' }]);
  assert.deepEqual(present.deleted, ['a']);

  const gone = world([configMap('a'), configMap('b')]);
  const { outcome, writer, events, accounts } = await finalize(
    kustomization({ serviceAccountName: 'deployer' }, ['a', 'b']),
    gone,
  );
  assert.equal(outcome.result, 'finalized');
  assert.deepEqual(gone.deleted, []);
  assert.deepEqual(accounts, [], 'no impersonated client was built');
  assert.equal(writer.removed.length, 1);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.type, 'Warning');
  assert.equal(events[0]!.message, 'unable to prune objects: \nConfigMap/apps/a\nConfigMap/apps/b');

  const byDefault = world([configMap('a')]);
  const defaulted = await finalize(kustomization({}, ['a']), byDefault, { defaultServiceAccount: 'fallback' });
  assert.equal(defaulted.events[0]?.message, 'unable to prune objects: \nConfigMap/apps/a');
  assert.ok(byDefault.reads.includes('ServiceAccount/apps/fallback'), '--default-service-account is looked up');
});

test('a deletion that fails: Warning Event, PW_PRUNE_FAILED, the finalizer stays', async () => {
  const w = world([configMap('a'), configMap('b')]);
  w.failDelete.add('b');
  const { outcome, writer, events } = await finalize(kustomization({}, ['a', 'b']), w);
  assert.equal(outcome.result, 'failed');
  assert.equal(outcome.error?.code, 'PW_PRUNE_FAILED');
  assert.match(outcome.error?.message ?? '', /ConfigMap\/apps\/b: configmaps "b" is forbidden/);
  assert.equal(writer.removed.length, 0, 'the finalizer stays: the deletion is retried');
  assert.deepEqual(
    events.map((event) => [event.type, event.message]),
    [['Warning', 'pruning for deleted resource failed']],
  );
});

test('WaitForTermination: waits until the deleted objects are gone; on timeout a Warning and the finalizer goes anyway', async () => {
  let clock = 0;
  const sleep = async (ms: number): Promise<void> => {
    clock += ms;
  };
  const now = (): Date => new Date(clock);
  const held = world([configMap('a'), configMap('b')]);
  held.lingering.set('ConfigMap/apps/a', 3);
  const waited = await finalize(
    kustomization({ deletionPolicy: 'WaitForTermination', prune: false }, ['a', 'b']),
    held,
    {
      now,
      sleep,
      terminationIntervalMs: 2_000,
    },
  );
  assert.equal(waited.outcome.result, 'finalized');
  assert.deepEqual(waited.outcome.remaining, []);
  // Read 3 times more after the delete (prune's own read, then two polls 2 s apart), gone at the third poll.
  assert.equal(clock, 4_000, 'two 2 s waits until the held object went');
  assert.equal(waited.writer.removed.length, 1);
  assert.deepEqual(
    waited.events.map((event) => event.type),
    ['Normal'],
  );

  clock = 0;
  const stuck = world([configMap('a')]);
  stuck.lingering.set('ConfigMap/apps/a', Number.MAX_SAFE_INTEGER);
  const timedOut = await finalize(
    kustomization({ deletionPolicy: 'WaitForTermination', timeout: '45s' }, ['a']),
    stuck,
    { now, sleep, terminationIntervalMs: 2_000 },
  );
  assert.equal(timedOut.outcome.result, 'finalized');
  assert.deepEqual(timedOut.outcome.remaining, ['ConfigMap/apps/a']);
  assert.equal(clock, 45_000, 'bounded by spec.timeout');
  assert.equal(timedOut.writer.removed.length, 1, 'Flux removes the finalizer after the timeout');
  const warning = timedOut.events.at(-1)!;
  assert.equal(warning.type, 'Warning');
  assert.match(
    warning.message,
    /^failed to wait for resources termination after 45s: timeout waiting for termination of: \[ConfigMap\/apps\/a\]$/,
  );
});

test('not pinwarden’s to finalize: no finalizer of ours, or the live object is another one → nothing deleted, nothing removed', async () => {
  const fluxOnly = kustomization({}, ['a'], { finalizers: ['finalizers.fluxcd.io'] });
  const w = world([configMap('a')]);
  const first = await finalize(fluxOnly, w);
  assert.equal(first.outcome.result, 'not-ours');
  assert.deepEqual(w.deleted, []);
  assert.equal(first.writer.removed.length, 0);

  // The cache still holds the old object; the apiserver already has a new one of the same name.
  const writer = finalizers();
  const replaced = kustomization({}, ['a'], { uid: 'ks-2' });
  const outcome = await finalizeKustomization(
    kustomization({}, ['a']),
    {
      client: {
        ...w.client,
        get: async (ref) =>
          ref.kind === 'Kustomization' ? (replaced as unknown as KubeObjectBody) : w.client.get(ref),
      },
      clientFor: () => w.client,
      finalizers: writer,
      events: { record: async () => undefined, dropped: () => 0 },
    },
    new AbortController().signal,
  );
  assert.equal(outcome.result, 'not-ours');
  assert.deepEqual(w.deleted, []);
  assert.equal(writer.removed.length, 0);
});

test('the inventory is read from the live object, not the (possibly stale) cached one', async () => {
  const w = world([configMap('a'), configMap('b')]);
  const writer = finalizers();
  const cached = kustomization({}, ['a']);
  const live = kustomization({}, ['a', 'b']);
  await finalizeKustomization(
    cached,
    {
      client: {
        ...w.client,
        get: async (ref) => (ref.kind === 'Kustomization' ? (live as unknown as KubeObjectBody) : w.client.get(ref)),
      },
      clientFor: () => w.client,
      finalizers: writer,
      events: { record: async () => undefined, dropped: () => 0 },
    },
    new AbortController().signal,
  );
  assert.deepEqual(w.deleted.sort(), ['a', 'b']);
});

test('changeSetMessage: Flux change-set lines (NotFound counts as deleted), at most 50', () => {
  const id = (name: string) => ({ namespace: 'apps', name, group: '', kind: 'ConfigMap' });
  const entries = Array.from({ length: 52 }, (_, index) => ({
    id: id(`c${index}`),
    subject: `ConfigMap/apps/c${index}`,
    action: index === 0 ? ('gone' as const) : ('deleted' as const),
  }));
  const message = changeSetMessage(entries);
  assert.equal(message.split('\n')[0], 'ConfigMap/apps/c0 deleted');
  assert.equal(message.split('\n').length, 51);
  assert.match(message, /… and 2 more$/);
});

test('waitForTermination: a read error counts as still present', async () => {
  let clock = 0;
  const client = {
    get: async () => {
      throw new Error('connection refused');
    },
  } as unknown as ObjectClient;
  const result = await waitForTermination(
    client,
    [{ id: { namespace: 'apps', name: 'a', group: '', kind: 'ConfigMap' }, version: 'v1' }],
    { timeoutMs: 10_000, intervalMs: 2_000, now: () => clock, sleep: async (ms) => void (clock += ms) },
  );
  assert.equal(result.ok, false);
  assert.equal(result.message, 'timeout waiting for termination of: [ConfigMap/apps/a]');
});

test('finalizerPatch: metadata.finalizers only, others kept, with the resourceVersion as a precondition', () => {
  const object = {
    metadata: { name: 'x', namespace: 'apps', resourceVersion: '42', finalizers: ['finalizers.fluxcd.io'] },
    spec: { a: 1 },
    status: { b: 2 },
  } as unknown as KubeObject;
  assert.deepEqual(finalizerPatch(object, 'add'), {
    metadata: { resourceVersion: '42', finalizers: ['finalizers.fluxcd.io', FINALIZER] },
  });
  assert.equal(finalizerPatch(object, 'remove'), undefined, 'nothing to remove');
  const ours = {
    metadata: { ...object.metadata, finalizers: ['finalizers.fluxcd.io', FINALIZER, 'x.io/y'] },
  } as KubeObject;
  assert.equal(finalizerPatch(ours, 'add'), undefined, 'already there');
  assert.deepEqual(finalizerPatch(ours, 'remove'), {
    metadata: { resourceVersion: '42', finalizers: ['finalizers.fluxcd.io', 'x.io/y'] },
  });
  assert.deepEqual(finalizerPatch({ metadata: { name: 'n', resourceVersion: '1' } }, 'add'), {
    metadata: { resourceVersion: '1', finalizers: [FINALIZER] },
  });
});

test("the controller's prelude: deletion first, then the finalizer (added, then requeued at once), then suspend", async () => {
  const calls: string[] = [];
  const writer: FinalizerWriter = {
    name: FINALIZER,
    add: async (object) => {
      calls.push(`add ${object.metadata.name}`);
      return { object, written: true, gone: false };
    },
    remove: async (object) => {
      calls.push(`remove ${object.metadata.name}`);
      return { object: undefined, written: true, gone: false };
    },
  };
  const w = world([configMap('a')]);
  const controller = createKustomizationController({
    client: w.client,
    clientFor: () => w.client,
    artifacts: { directoryFor: async () => assert.fail('no step runs') },
    status: { write: async () => assert.fail('no status is written by the prelude') },
    finalizers: writer,
    events: { record: async () => undefined, dropped: () => 0 },
  });
  const request = (object: KubeObject) => ({
    object,
    signal: new AbortController().signal,
    stopping: new AbortController().signal,
  });
  const fresh = kustomization({}, ['a'], { deletionTimestamp: undefined, finalizers: undefined });
  assert.deepEqual(await controller.reconcile(request(fresh)), { result: 'success', requeue: { afterMs: 0 } });
  const suspended = kustomization({ suspend: true }, ['a'], { deletionTimestamp: undefined, finalizers: undefined });
  assert.deepEqual(await controller.reconcile(request(suspended)), { result: 'success', requeue: { afterMs: 0 } });
  const suspendedWithIt = kustomization({ suspend: true }, ['a'], { deletionTimestamp: undefined });
  assert.deepEqual(await controller.reconcile(request(suspendedWithIt)), {
    result: 'success',
    requeue: { never: true },
  });
  assert.deepEqual(calls, ['add web', 'add web'], 'the finalizer even on a suspended object; nothing else');
});

test('spec.kubeConfig: the inventory is deleted on the remote cluster, as the ServiceAccount there, no local account read', async () => {
  const local = world([configMap('a')]);
  const far = world([configMap('a')]);
  const asked: unknown[] = [];
  const remote = {
    size: 0,
    clientsFor: async () => ({
      client: far.client,
      clientFor: (account: unknown) => {
        asked.push(account);
        return far.client;
      },
    }),
  };
  const { outcome, writer, accounts } = await finalize(
    kustomization({ kubeConfig: { secretRef: { name: 'kc' } }, serviceAccountName: 'deployer' }, ['a']),
    local,
    { remote },
  );
  assert.equal(outcome.result, 'finalized');
  assert.deepEqual(far.deleted, ['a'], 'deleted on the remote cluster');
  assert.deepEqual(local.deleted, [], 'nothing deleted locally');
  assert.deepEqual(asked, [{ namespace: 'apps', name: 'deployer' }], 'impersonated there');
  assert.deepEqual(accounts, [], 'the local impersonating client is not used');
  assert.ok(!local.reads.includes('ServiceAccount/apps/deployer'), 'the account lives on the remote cluster');
  assert.equal(writer.removed.length, 1);
});

test('spec.kubeConfig on deletion: a missing Secret keeps the finalizer (retried); a refused one releases it with a Warning', async () => {
  const { PinwardenError } = await import('../../../../src/core/errors.ts');
  const failing = (code: 'PW_KUBECONFIG_NOT_FOUND' | 'PW_REMOTE_CLUSTER_DENIED') => ({
    size: 0,
    clientsFor: async () => {
      throw new PinwardenError(code, `spec.kubeConfig: Secret 'apps/kc' ${code}`);
    },
  });
  const object = () => kustomization({ kubeConfig: { secretRef: { name: 'kc' } } }, ['a']);
  const missing = await finalize(object(), world([configMap('a')]), { remote: failing('PW_KUBECONFIG_NOT_FOUND') });
  assert.equal(missing.outcome.result, 'failed');
  assert.equal(missing.outcome.error?.code, 'PW_KUBECONFIG_NOT_FOUND');
  assert.equal(missing.writer.removed.length, 0, 'finalizer kept');
  assert.equal(missing.events[0]?.type, 'Warning');
  const denied = await finalize(object(), world([configMap('a')]), { remote: failing('PW_REMOTE_CLUSTER_DENIED') });
  assert.equal(denied.outcome.result, 'finalized');
  assert.equal(denied.writer.removed.length, 1, 'nothing can ever be reached: the object is let go');
  assert.equal(denied.events[0]?.type, 'Warning');
  assert.match(denied.events[0].message, /unable to prune objects: .*PW_REMOTE_CLUSTER_DENIED\nConfigMap\/apps\/a/);
  // No remote clusters configured at all: the same as refused.
  const unwired = await finalize(object(), world([configMap('a')]));
  assert.equal(unwired.outcome.result, 'finalized');
  assert.match(unwired.events[0]!.message, /--remote-cluster/);
});
