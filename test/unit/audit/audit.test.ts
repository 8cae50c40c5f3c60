// Issue #12 item 4: an audit pass judges every source, writes a report only when its content changed, removes
// the reports of namespaces with no source left, and turns a failure or a hang into an `error` result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditOnce, startAudit } from '../../../src/audit/index.ts';
import type { AuditMemory, AuditTarget, PolicyReport } from '../../../src/audit/index.ts';
import { PinwardenError } from '../../../src/core/errors.ts';
import { evaluate } from '../../../src/core/evaluate.ts';
import { defaultPolicy } from '../../../src/core/policy/index.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const NOW = new Date('2026-12-03T07:00:00Z');

function oci(namespace: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name, namespace, uid: `u-${name}` },
    spec: { interval: '5m', url: 'oci://ghcr.io/acme/app', ref: { digest: DIGEST }, ...extra },
  };
}

function memoryTarget(
  sources: unknown[],
): AuditTarget & { reports: Map<string, PolicyReport>; writes: number; deletes: number } {
  const target = {
    reports: new Map<string, PolicyReport>(),
    writes: 0,
    deletes: 0,
    listSources: async () => structuredClone(sources),
    listReportNamespaces: async () => [...target.reports.keys()],
    applyReport: async (report: PolicyReport) => {
      target.writes++;
      target.reports.set(report.metadata.namespace, report);
    },
    deleteReport: async (namespace: string) => {
      target.deletes++;
      target.reports.delete(namespace);
    },
  };
  return target;
}

const judge = async (object: unknown) => evaluate(object, defaultPolicy(), { phase: 'admission' });

test('a pass reports every namespace; an unchanged second pass writes nothing; a gone namespace loses its report', async () => {
  const sources: unknown[] = [
    oci('a', 'one'),
    oci('b', 'two'),
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'c' } },
  ];
  const target = memoryTarget(sources);
  const memory: AuditMemory = new Map();
  const first = await auditOnce({ target, judge, now: () => NOW }, memory);
  assert.deepEqual(first.written, ['a', 'b']);
  assert.deepEqual([...target.reports.keys()], ['a', 'b']);
  assert.equal(first.counts.fail, 2, 'unsigned under the default policy: verify-required in each');
  const second = await auditOnce({ target, judge, now: () => new Date(NOW.getTime() + 60_000) }, memory);
  assert.deepEqual(second.written, []);
  assert.equal(target.writes, 2);
  sources.splice(1, 1);
  const third = await auditOnce({ target, judge, now: () => NOW }, memory);
  assert.deepEqual(third.removed, ['b']);
  assert.deepEqual([...target.reports.keys()], ['a']);
});

test('an object that cannot be judged, or takes past its deadline, is an error result; the others are still reported', async () => {
  const target = memoryTarget([oci('a', 'ok'), oci('a', 'broken'), oci('a', 'slow')]);
  const judgeSome = async (object: unknown, signal: AbortSignal) => {
    const name = (object as { metadata: { name: string } }).metadata.name;
    if (name === 'broken') throw new PinwardenError('PW_KUBE_API', 'Secret a/keys: forbidden');
    if (name === 'slow')
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    return judge(object);
  };
  const pass = await auditOnce({ target, judge: judgeSome, now: () => NOW, objectTimeoutMs: 50 }, new Map());
  const results = target.reports.get('a')!.results;
  assert.deepEqual(
    results
      .filter((result) => result.result === 'error')
      .map((result) => [result.resources[0]!.name, result.properties?.code]),
    [
      ['broken', 'PW_KUBE_API'],
      ['slow', 'PW_DEADLINE'],
    ],
  );
  assert.ok(results.some((result) => result.resources[0]!.name === 'ok' && result.result === 'fail'));
  assert.equal(pass.counts.error, 2);
});

test('the audit changes nothing it audits: the sources it was given are as they were', async () => {
  const sources = [oci('a', 'one', { ref: { tag: '1.0.0' } })];
  const before = structuredClone(sources);
  const target = memoryTarget(sources);
  await auditOnce({ target, judge, now: () => NOW }, new Map());
  assert.deepEqual(sources, before);
});

test('the loop: a pass at start, then one per interval; nextPass waits for a pass that starts after the call; stop ends it', async () => {
  const sources: unknown[] = [oci('a', 'one')];
  const target = memoryTarget(sources);
  const wakers: Array<() => void> = [];
  const sleep = (_ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      wakers.push(resolve);
      signal.addEventListener('abort', () => reject(new Error('stopped')));
    });
  const seen: string[] = [];
  const loop = startAudit({
    target,
    judge,
    now: () => NOW,
    intervalMs: 1000,
    sleep,
    onPass: (outcome) => seen.push('error' in outcome ? 'error' : 'ok'),
  });
  const first = await loop.nextPass();
  assert.ok(!('error' in first));
  sources.push(oci('b', 'two'));
  const next = loop.nextPass();
  wakers.shift()?.();
  const second = await next;
  assert.ok(!('error' in second) && second.written.includes('b'));
  await loop.stop();
  assert.deepEqual(seen, ['ok', 'ok']);
});

test('a pass that fails as a whole (the list fails) is reported, and the loop goes on', async () => {
  let failing = true;
  const target = memoryTarget([oci('a', 'one')]);
  const flaky: AuditTarget = {
    ...target,
    listSources: async () => {
      if (failing) throw new PinwardenError('PW_KUBE_API', 'list ocirepositories: connection refused');
      return [oci('a', 'one')];
    },
  };
  const wakers: Array<() => void> = [];
  const loop = startAudit({
    target: flaky,
    judge,
    now: () => NOW,
    intervalMs: 1000,
    sleep: (_ms, signal) =>
      new Promise<void>((resolve, reject) => {
        wakers.push(resolve);
        signal.addEventListener('abort', () => reject(new Error('stopped')));
      }),
  });
  const first = await loop.nextPass();
  assert.ok('error' in first && first.error.code === 'PW_KUBE_API');
  failing = false;
  const next = loop.nextPass();
  wakers.shift()?.();
  assert.ok(!('error' in (await next)));
  await loop.stop();
});
