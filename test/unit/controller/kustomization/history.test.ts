import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_HISTORY, manifestsDigest, upsertHistory } from '../../../../src/controller/kustomization/history.ts';

test('history: newest first, a repeated digest is updated and moved to the front, at most 5 kept', () => {
  const at = (second: number): Date => new Date(Date.UTC(2026, 11, 3, 7, 0, second));
  let history = upsertHistory(undefined, {
    digest: 'sha256:a',
    at: at(1),
    durationMs: 1500,
    status: 'ReconciliationSucceeded',
    metadata: { revision: 'v1@sha256:1' },
  });
  assert.deepEqual(history, [
    {
      digest: 'sha256:a',
      firstReconciled: '2026-12-03T07:00:01Z',
      lastReconciled: '2026-12-03T07:00:01Z',
      lastReconciledDuration: '1.5s',
      lastReconciledStatus: 'ReconciliationSucceeded',
      totalReconciliations: 1,
      metadata: { revision: 'v1@sha256:1' },
    },
  ]);
  history = upsertHistory(history, {
    digest: 'sha256:b',
    at: at(2),
    durationMs: 200,
    status: 'ReconciliationFailed',
    metadata: {},
  });
  history = upsertHistory(history, {
    digest: 'sha256:a',
    at: at(3),
    durationMs: 100,
    status: 'ReconciliationSucceeded',
    metadata: { revision: 'v1@sha256:1' },
  });
  assert.deepEqual(
    history.map((item) => [item.digest, item.totalReconciliations, item.firstReconciled, item.lastReconciled]),
    [
      ['sha256:a', 2, '2026-12-03T07:00:01Z', '2026-12-03T07:00:03Z'],
      ['sha256:b', 1, '2026-12-03T07:00:02Z', '2026-12-03T07:00:02Z'],
    ],
  );
  for (let index = 0; index < 10; index++)
    history = upsertHistory(history, {
      digest: `sha256:${index}`,
      at: at(10 + index),
      durationMs: 1,
      status: 'ReconciliationSucceeded',
      metadata: {},
    });
  assert.equal(history.length, MAX_HISTORY);
  assert.equal(history[0]!.digest, 'sha256:9');
  assert.deepEqual(
    upsertHistory([{ junk: true }, null, 'x'], {
      digest: 'sha256:z',
      at: at(0),
      durationMs: 0,
      status: 'S',
      metadata: {},
    }).length,
    1,
    'malformed entries are dropped',
  );
});

test('the manifests digest depends on content and order', () => {
  const a = { kind: 'ConfigMap', metadata: { name: 'a' } };
  const b = { kind: 'ConfigMap', metadata: { name: 'b' } };
  assert.equal(manifestsDigest([a, b]), manifestsDigest([{ ...a }, { ...b }]));
  assert.notEqual(manifestsDigest([a, b]), manifestsDigest([b, a]));
  assert.match(manifestsDigest([]), /^sha256:[0-9a-f]{64}$/);
});
