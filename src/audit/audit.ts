/**
 * One audit pass and the loop that repeats it. A pass lists every OCIRepository and Bucket, judges each with
 * the caller's `judge` (the webhook's own `/validate` flow, with the policy and exceptions in force now), builds
 * one PolicyReport per namespace and writes those whose content changed (timestamps aside); a namespace whose
 * sources are all gone loses its report. Objects are judged a few at a time, each within its own deadline, and a
 * failure to judge one object is an `error` result for it, never the end of the pass.
 */
import type { Evaluation } from '../core/evaluate.ts';
import { PinwardenError, toPinwardenError } from '../core/errors.ts';
import { mapLimited } from '../runtime/index.ts';
import { asRecord, asString, governedKindOf } from '../core/flux/index.ts';
import { buildReports, reportFingerprint } from './report.ts';
import type { AuditedObject, PolicyReport, ResultValue } from './report.ts';

/** Where the audit reads sources and writes reports (src/kube implements it over the API; tests in memory). */
export interface AuditTarget {
  /** Every governed source in the cluster (OCIRepository, Bucket), all namespaces. */
  listSources(signal?: AbortSignal): Promise<unknown[]>;
  /** Namespaces holding a report this audit wrote earlier. */
  listReportNamespaces(signal?: AbortSignal): Promise<string[]>;
  /** Create or replace the report (its metadata names namespace and name). */
  applyReport(report: PolicyReport, signal?: AbortSignal): Promise<void>;
  deleteReport(namespace: string, signal?: AbortSignal): Promise<void>;
}

export interface AuditMetrics {
  pass(outcome: 'ok' | 'error', seconds: number): void;
  results(counts: Record<ResultValue, number>): void;
  reportsWritten(count: number): void;
}

export interface AuditPassOptions {
  target: AuditTarget;
  /** Judges one object as `/validate` would now; throws PinwardenError when it cannot. */
  judge(object: unknown, signal: AbortSignal): Promise<Evaluation>;
  now(): Date;
  /** Objects judged at once (default 4). */
  concurrency?: number;
  /** Deadline per object in ms (default 10 000). */
  objectTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface AuditPass {
  reports: Map<string, PolicyReport>;
  /** Namespaces whose report was written (created or changed). */
  written: string[];
  /** Namespaces whose report was removed (no source left). */
  removed: string[];
  counts: Record<ResultValue, number>;
}

/** What the previous pass wrote, per namespace: a report is rewritten only when its content changed. */
export type AuditMemory = Map<string, string>;

export async function auditOnce(options: AuditPassOptions, memory: AuditMemory): Promise<AuditPass> {
  const signal = options.signal;
  const sources = (await options.target.listSources(signal)).filter((object) => governedKindOf(object) !== undefined);
  const audited = await mapLimited(sources, options.concurrency ?? 4, (object) => judgeOne(object, options));
  const reports = buildReports(audited, options.now());
  const counts: Record<ResultValue, number> = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  const written: string[] = [];
  for (const [namespace, report] of reports) {
    for (const key of Object.keys(counts) as ResultValue[]) counts[key] += report.summary[key];
    const fingerprint = reportFingerprint(report);
    if (memory.get(namespace) === fingerprint) continue;
    await options.target.applyReport(report, signal);
    memory.set(namespace, fingerprint);
    written.push(namespace);
  }
  const removed: string[] = [];
  for (const namespace of await options.target.listReportNamespaces(signal)) {
    if (reports.has(namespace)) continue;
    await options.target.deleteReport(namespace, signal);
    memory.delete(namespace);
    removed.push(namespace);
  }
  for (const namespace of [...memory.keys()]) if (!reports.has(namespace)) memory.delete(namespace);
  return { reports, written, removed, counts };
}

async function judgeOne(object: unknown, options: AuditPassOptions): Promise<AuditedObject> {
  const reference = referenceOf(object);
  const deadline = AbortSignal.timeout(options.objectTimeoutMs ?? 10_000);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  try {
    return { object: reference, evaluation: await options.judge(object, signal) };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const failure =
      deadline.aborted && !(error instanceof PinwardenError)
        ? new PinwardenError('PW_DEADLINE', 'judging the object took longer than its deadline')
        : toPinwardenError(error);
    return { object: reference, error: failure };
  }
}

function referenceOf(object: unknown): AuditedObject['object'] {
  const record = asRecord(object) ?? {};
  const metadata = asRecord(record.metadata) ?? {};
  const uid = asString(metadata.uid);
  return {
    apiVersion: asString(record.apiVersion) ?? '',
    kind: asString(record.kind) ?? '',
    namespace: asString(metadata.namespace) ?? 'default',
    name: asString(metadata.name) ?? '',
    ...(uid !== undefined ? { uid } : {}),
  };
}

export interface AuditLoopOptions extends Omit<AuditPassOptions, 'signal'> {
  intervalMs: number;
  /** Waits `ms` or rejects when `signal` aborts (the runtime clock's `sleep`). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  metrics?: AuditMetrics;
  /** Each pass's outcome (logs). */
  onPass?(pass: AuditPass | { error: PinwardenError }, seconds: number): void;
}

export interface AuditLoop {
  /** Resolves when the first pass that starts after this call has finished (so it saw what is true now). */
  nextPass(): Promise<AuditPass | { error: PinwardenError }>;
  stop(): Promise<void>;
}

/** Runs a pass now and then every `intervalMs` after the previous one ended, until `stop`. */
export function startAudit(options: AuditLoopOptions): AuditLoop {
  const stopper = new AbortController();
  const memory: AuditMemory = new Map();
  let waiters: Array<{ pass: number; resolve: (outcome: AuditPass | { error: PinwardenError }) => void }> = [];
  let started = 0;
  const loop = (async () => {
    // The first pass starts on the next tick, so a `nextPass()` right after `startAudit` waits for it.
    await Promise.resolve();
    while (!stopper.signal.aborted) {
      const pass = ++started;
      const startedAt = options.now().getTime();
      let outcome: AuditPass | { error: PinwardenError };
      try {
        outcome = await auditOnce({ ...options, signal: stopper.signal }, memory);
        options.metrics?.results(outcome.counts);
        options.metrics?.reportsWritten(outcome.written.length + outcome.removed.length);
      } catch (error) {
        if (stopper.signal.aborted) break;
        outcome = { error: toPinwardenError(error) };
      }
      const seconds = (options.now().getTime() - startedAt) / 1000;
      options.metrics?.pass('error' in outcome ? 'error' : 'ok', seconds);
      options.onPass?.(outcome, seconds);
      const done = waiters.filter((waiter) => waiter.pass <= pass);
      waiters = waiters.filter((waiter) => waiter.pass > pass);
      for (const waiter of done) waiter.resolve(outcome);
      try {
        await options.sleep(options.intervalMs, stopper.signal);
      } catch {
        break;
      }
    }
  })();
  return {
    nextPass: () => new Promise((resolve) => waiters.push({ pass: started + 1, resolve })),
    async stop() {
      stopper.abort();
      await loop;
    },
  };
}
