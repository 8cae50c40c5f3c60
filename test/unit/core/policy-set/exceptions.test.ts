// Issue #12 items 2 and 3: SourcePolicyException objects from the cluster, judged with an injected clock: the
// same loader and the same application as `check --exceptions`; invalid ones waive nothing, expired ones are
// reported and stop waiving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from '../../../../src/core/evaluate.ts';
import { defaultPolicy } from '../../../../src/core/policy/index.ts';
import { EMPTY_EXCEPTION_SET, reconcileExceptions } from '../../../../src/core/policy-set/index.ts';

const EXPIRES = '2026-06-01T00:00:00Z';
const BEFORE = new Date('2026-05-31T23:59:59Z');
const AFTER = new Date('2026-06-01T00:00:01Z');

function spe(name: string, namespace: string, spec: Record<string, unknown>, generation = 1): unknown {
  return {
    apiVersion: 'pinwarden.dev/v1alpha1',
    kind: 'SourcePolicyException',
    metadata: { name, namespace, generation, uid: 'u', resourceVersion: '3' },
    spec,
    status: { conditions: [] },
  };
}

const LEGACY = spe('legacy', 'team-a', {
  reason: 'vendor chart unsigned, OPS-123',
  expires: EXPIRES,
  objects: [{ kind: 'OCIRepository', name: 'vendor' }],
  ruleIds: ['verify-required'],
});
const unsigned = {
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'OCIRepository',
  metadata: { name: 'vendor', namespace: 'team-a' },
  spec: { interval: '5m', url: 'oci://ghcr.io/vendor/chart', ref: { digest: `sha256:${'a'.repeat(64)}` } },
};

test('an active exception waives its rule for the object it names, in its namespace only', () => {
  const result = reconcileExceptions([LEGACY], EMPTY_EXCEPTION_SET, BEFORE);
  assert.equal(result.exceptions.length, 1);
  assert.deepEqual(
    result.reports.map((report) => [report.namespace, report.name, report.condition.status, report.condition.reason]),
    [['team-a', 'legacy', 'True', 'Active']],
  );
  assert.match(
    result.reports[0]!.condition.message,
    /waives verify-required for 1 object entry in team-a until 2026-06-01T00:00:00Z/,
  );
  assert.equal(result.nextExpiry, Date.parse(EXPIRES));
  const judged = evaluate(unsigned, defaultPolicy(), {
    phase: 'admission',
    exceptions: { exceptions: result.exceptions, now: BEFORE },
  });
  assert.equal(judged.verdict, 'allow');
  assert.equal(judged.waived?.[0]?.exception, 'team-a/legacy');
  const elsewhere = evaluate({ ...unsigned, metadata: { name: 'vendor', namespace: 'team-b' } }, defaultPolicy(), {
    phase: 'admission',
    exceptions: { exceptions: result.exceptions, now: BEFORE },
  });
  assert.equal(elsewhere.verdict, 'deny');
});

test('past expires: reported Expired, kept so the finding says the waiver lapsed, and the object is denied again', () => {
  const result = reconcileExceptions([LEGACY], EMPTY_EXCEPTION_SET, AFTER);
  assert.deepEqual([result.reports[0]!.condition.status, result.reports[0]!.condition.reason], ['False', 'Expired']);
  assert.match(result.reports[0]!.condition.message, /^expired 2026-06-01T00:00:00Z: it waives nothing any more/);
  assert.equal(result.nextExpiry, undefined);
  const judged = evaluate(unsigned, defaultPolicy(), {
    phase: 'admission',
    exceptions: { exceptions: result.exceptions, now: AFTER },
  });
  assert.equal(judged.verdict, 'deny');
  assert.deepEqual(
    judged.expiredExceptions?.map((entry) => entry.exception),
    ['team-a/legacy'],
  );
  assert.ok(
    judged.findings.some((finding) =>
      /exception team-a\/legacy expired 2026-06-01T00:00:00Z and no longer waives this/.test(finding.message),
    ),
  );
});

test('invalid exceptions waive nothing and say why (same loader as check --exceptions)', () => {
  const typo = spe('typo', 'team-a', {
    reason: 'x',
    expires: EXPIRES,
    objects: [{ kind: 'OCIRepository', name: 'vendor' }],
    ruleIds: ['verify-requird'],
  });
  const wide = spe('wide', 'team-a', {
    reason: 'x',
    expires: EXPIRES,
    objects: [{ kind: 'OCIRepository', selector: {} }],
    ruleIds: ['verify-required'],
  });
  const result = reconcileExceptions([typo, wide], EMPTY_EXCEPTION_SET, BEFORE);
  assert.equal(result.exceptions.length, 0);
  assert.deepEqual(
    result.reports.map((report) => report.condition.reason),
    ['InvalidException', 'InvalidException'],
  );
  assert.match(
    result.reports[0]!.condition.message,
    /'verify-requird' is not a pinwarden rule id \(did you mean verify-required\?\).*; it waives nothing$/,
  );
  assert.match(result.reports[1]!.condition.message, /an empty selector would waive every OCIRepository/);
  assert.equal(
    evaluate(unsigned, defaultPolicy(), {
      phase: 'admission',
      exceptions: { exceptions: result.exceptions, now: BEFORE },
    }).verdict,
    'deny',
  );
});

test('nextExpiry is the soonest future expiry; unchanged objects are not parsed again', () => {
  const later = spe('later', 'team-b', {
    reason: 'y',
    expires: '2026-09-01T00:00:00Z',
    objects: [{ kind: 'Bucket', name: 'b' }],
    ruleIds: ['bucket-ignore-required'],
  });
  const first = reconcileExceptions([later, LEGACY], EMPTY_EXCEPTION_SET, BEFORE);
  assert.equal(first.nextExpiry, Date.parse(EXPIRES));
  assert.deepEqual(
    first.reports.map((report) => `${report.namespace}/${report.name}`),
    ['team-a/legacy', 'team-b/later'],
  );
  const second = reconcileExceptions([later, LEGACY], first.memory, AFTER);
  assert.equal(second.nextExpiry, Date.parse('2026-09-01T00:00:00Z'));
  assert.equal(second.exceptions[0], first.exceptions[0], 'the parsed exception object is reused');
});
