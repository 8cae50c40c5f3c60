// Issue #10 item 2: the work queue (one worker per key, dedup, backoff, requeue) and the one summarizer
// (conditions, events, requeue decision), without a cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import {
  CONDITION,
  ConditionSet,
  createWorkQueue,
  jittered,
  markProgressing,
  statusPatch,
  summarize,
} from '../../../src/controller/runtime/index.ts';
import type { ReconcileScope, SummaryRules } from '../../../src/controller/runtime/index.ts';

const tick = (ms = 5): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('queue: a key is never processed by two workers at once; an add during processing runs it once more', async () => {
  const queue = createWorkQueue();
  let active = 0;
  let maxActive = 0;
  const runs: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  queue.run(4, async (key) => {
    active++;
    maxActive = Math.max(maxActive, active);
    runs.push(key);
    if (runs.length === 1) await gate;
    active--;
  });
  queue.add('a');
  await tick();
  queue.add('a');
  queue.add('a');
  await tick();
  assert.deepEqual(runs, ['a'], 'the second add waits for the first run');
  release();
  await tick(20);
  assert.deepEqual(runs, ['a', 'a'], 'three adds while busy → one more run');
  assert.equal(maxActive, 1);
  await queue.stop();
});

test('queue: different keys run in parallel up to the worker count', async () => {
  const queue = createWorkQueue();
  let active = 0;
  let maxActive = 0;
  queue.run(2, async () => {
    active++;
    maxActive = Math.max(maxActive, active);
    await tick(20);
    active--;
  });
  for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
  await tick(100);
  assert.equal(maxActive, 2);
  await queue.stop();
});

test('queue: rate-limited backoff doubles per failure up to the cap, honours a minimum, and forget resets it', () => {
  const queue = createWorkQueue({ backoff: { baseMs: 100, maxMs: 1000 } });
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => queue.addRateLimited('k')),
    [100, 200, 400, 800, 1000],
  );
  assert.equal(queue.addRateLimited('k', 5000), 5000, 'Retry-After wins when longer');
  queue.forget('k');
  assert.equal(queue.addRateLimited('k'), 100);
  void queue.stop();
});

test('queue: addAfter keeps the earliest due time per key and fires once', async () => {
  const queue = createWorkQueue();
  const runs: string[] = [];
  queue.run(1, async (key) => void runs.push(key));
  queue.addAfter('k', 60_000);
  queue.addAfter('k', 10);
  queue.addAfter('k', 30_000);
  await tick(60);
  assert.deepEqual(runs, ['k']);
  assert.equal(queue.delayed(), 0);
  await queue.stop();
});

test('jitter stays within ±10 %', () => {
  assert.equal(
    jittered(1000, 0.1, () => 0),
    900,
  );
  assert.equal(
    jittered(1000, 0.1, () => 1),
    1100,
  );
});

const RULES: SummaryRules = {
  summarize: [
    'StorageOperationFailed',
    'FetchFailed',
    'ArtifactOutdated',
    'ArtifactInStorage',
    'SourceVerified',
    'Stalled',
    'Reconciling',
  ],
  negativePolarity: ['StorageOperationFailed', 'FetchFailed', 'ArtifactOutdated', 'Stalled', 'Reconciling'],
  owned: [
    'Ready',
    'Reconciling',
    'Stalled',
    'ArtifactInStorage',
    'SourceVerified',
    'FetchFailed',
    'StorageOperationFailed',
    'ArtifactOutdated',
  ],
};

function scopeWith(conditions: ConditionSet): ReconcileScope {
  return {
    object: { metadata: { name: 'x', generation: 2 } },
    conditions,
    status: {},
    events: [],
    signal: new AbortController().signal,
    now: () => new Date(),
    facts: {},
  };
}

test('summarize: success removes Reconciling, Ready copies the stored-artifact message, requeue at interval', () => {
  const conditions = new ConditionSet([], 2);
  markProgressing(conditions, 'building artifact');
  conditions.markTrue(CONDITION.artifactInStorage, 'Succeeded', "stored artifact for digest 'v1@sha256:aa'");
  conditions.markTrue(CONDITION.sourceVerified, 'Succeeded', 'verified signature of revision v1@sha256:aa');
  const summary = summarize({
    scope: scopeWith(conditions),
    result: { kind: 'done' },
    rules: RULES,
    intervalMs: 60_000,
  });
  assert.equal(summary.conditions.get(CONDITION.reconciling), undefined);
  assert.deepEqual(
    [summary.ready.status, summary.ready.reason, summary.ready.message],
    ['True', 'Succeeded', "stored artifact for digest 'v1@sha256:aa'"],
  );
  assert.deepEqual(summary.requeue, { afterMs: 60_000 });
  assert.equal(summary.observeGeneration, true);
  assert.equal(summary.events.length, 1, 'a new result is an event');
  assert.equal(summary.events[0]!.type, 'Normal');
});

test('summarize: a failure keeps the stored artifact but Ready=False mirrors the bad condition; backoff with Retry-After', () => {
  const conditions = new ConditionSet([], 2);
  markProgressing(conditions, 'building artifact');
  conditions.markTrue(CONDITION.artifactInStorage, 'Succeeded', 'stored artifact');
  conditions.markTrue(CONDITION.fetchFailed, 'OCIArtifactPullFailed', 'registry down');
  const error = new PinwardenError('PW_REGISTRY_UNREACHABLE', 'registry down', { details: { retryAfterMs: 7000 } });
  const summary = summarize({
    scope: scopeWith(conditions),
    result: { kind: 'fail', error },
    rules: RULES,
    intervalMs: 60_000,
  });
  assert.deepEqual([summary.ready.status, summary.ready.reason], ['False', 'OCIArtifactPullFailed']);
  assert.equal(summary.conditions.get(CONDITION.reconciling)?.reason, 'ProgressingWithRetry');
  assert.deepEqual(summary.requeue, { rateLimited: true, minMs: 7000 });
  assert.equal(summary.observeGeneration, false);
  assert.equal(summary.events[0]!.type, 'Warning');
});

test('summarize: a stalling error sets Stalled, never requeues, observes the generation', () => {
  const conditions = new ConditionSet([], 2);
  conditions.markTrue(CONDITION.fetchFailed, 'URLInvalid', 'URL must not contain a tag');
  const error = new PinwardenError('PW_REF_INVALID', 'URL must not contain a tag');
  const summary = summarize({
    scope: scopeWith(conditions),
    result: { kind: 'fail', error, stalled: true },
    rules: RULES,
    intervalMs: 60_000,
  });
  assert.deepEqual(
    [summary.conditions.get(CONDITION.stalled)?.status, summary.conditions.get(CONDITION.stalled)?.reason],
    ['True', 'URLInvalid'],
  );
  assert.deepEqual(summary.requeue, { never: true });
  assert.equal(summary.observeGeneration, true);
});

test('summarize: an unchanged result records no event; a failure without a condition still makes Ready False with the catalogue reason', () => {
  const previous = new ConditionSet([], 2);
  previous.markTrue(CONDITION.artifactInStorage, 'Succeeded', 'stored');
  const first = summarize({ scope: scopeWith(previous), result: { kind: 'done' }, rules: RULES, intervalMs: 1 });
  const again = new ConditionSet(first.conditions.list(), 2);
  const second = summarize({
    scope: scopeWith(again),
    result: { kind: 'done' },
    rules: RULES,
    intervalMs: 1,
    previousReady: first.ready,
  });
  assert.equal(second.events.length, 0);
  const failing = summarize({
    scope: scopeWith(new ConditionSet(first.conditions.list(), 2)),
    result: { kind: 'fail', error: new PinwardenError('PW_KUBE_API', 'apiserver said 500') },
    rules: RULES,
    intervalMs: 1,
    previousReady: first.ready,
  });
  assert.deepEqual([failing.ready.status, failing.ready.reason], ['False', 'ReconciliationFailed']);
});

test('statusPatch: keeps foreign conditions, replaces owned ones, deletes owned ones absent now, nothing when equal', () => {
  const t = '2026-01-01T00:00:00Z';
  const object = {
    metadata: { name: 'x' },
    status: {
      observedGeneration: 1,
      conditions: [
        { type: 'Foreign', status: 'True', reason: 'R', message: 'm', lastTransitionTime: t },
        { type: 'Reconciling', status: 'True', reason: 'Progressing', message: 'm', lastTransitionTime: t },
        { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'm', lastTransitionTime: t },
      ],
    },
  };
  const ready = { type: 'Ready', status: 'True' as const, reason: 'Succeeded', message: 'ok', lastTransitionTime: t };
  const patch = statusPatch(object, { conditions: [ready], owned: ['Ready', 'Reconciling'], observedGeneration: 2 });
  assert.deepEqual(
    (patch!.conditions as Array<{ type: string }>).map((condition) => condition.type),
    ['Foreign', 'Ready'],
  );
  assert.equal(patch!.observedGeneration, 2);
  const same = {
    metadata: { name: 'x' },
    status: { observedGeneration: 2, conditions: [object.status.conditions[0], ready] },
  };
  assert.equal(
    statusPatch(same, { conditions: [ready], owned: ['Ready', 'Reconciling'], observedGeneration: 2 }),
    undefined,
  );
});

test('summarize with readyFromError: a failed reconcile makes Ready the error, even with another bad condition set', () => {
  const conditions = new ConditionSet([], 2);
  conditions.markTrue(CONDITION.artifactOutdated, 'NewRevision', "new revision 'v2@sha256:bb'");
  conditions.markFalse(CONDITION.sourceVerified, 'VerificationError', 'failed to verify the signature');
  const error = new PinwardenError(
    'PW_SIGNATURE_INVALID',
    "failed to verify the signature using provider 'cosign': no signature verified",
  );
  const mirrored = summarize({
    scope: scopeWith(new ConditionSet(conditions.list(), 2)),
    result: { kind: 'fail', error },
    rules: RULES,
    intervalMs: 1,
  });
  assert.equal(mirrored.ready.reason, 'NewRevision', 'default: the first bad condition');
  const fromError = summarize({
    scope: scopeWith(conditions),
    result: { kind: 'fail', error },
    rules: { ...RULES, readyFromError: true },
    intervalMs: 1,
  });
  assert.deepEqual(
    [fromError.ready.status, fromError.ready.reason, fromError.ready.message],
    ['False', 'VerificationError', error.message],
  );
});
