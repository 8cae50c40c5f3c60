/**
 * Polls objects until kstatus says they are all Current (Flux's `WaitForSet` / health checks): stops
 * as soon as one is Failed (Flux's fail-fast), or at the deadline. The clock and the
 * sleep are injected so tests bound it without wall time.
 */
import { PinwardenError } from '../../core/errors.ts';
import type { ObjectClient } from '../../kube/index.ts';
import { computeHealth } from './kstatus.ts';
import type { Health } from './kstatus.ts';
import { describeObject, joinApiVersion } from './objects.ts';
import type { ObjectId } from './objects.ts';

export interface WaitTarget {
  id: ObjectId;
  version: string;
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  signal?: AbortSignal;
}

export interface WaitResult {
  ok: boolean;
  /** Each target's last status. */
  statuses: Array<{ target: WaitTarget; health: Health }>;
  elapsedMs: number;
  /** Flux's wording: `timeout waiting for: [...]` or `failed early due to stalled resources: [...]`. */
  message: string;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The reference `ObjectClient.get` reads a target by. */
function refOf(target: WaitTarget) {
  return {
    apiVersion: joinApiVersion(target.id.group, target.version),
    kind: target.id.kind,
    namespace: target.id.namespace || undefined,
    name: target.id.name,
  };
}

export async function waitForCurrent(
  client: ObjectClient,
  targets: readonly WaitTarget[],
  options: WaitOptions,
): Promise<WaitResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const started = now();
  let statuses: WaitResult['statuses'] = [];
  for (;;) {
    statuses = [];
    for (const target of targets) {
      const ref = refOf(target);
      let health: Health;
      try {
        const live = await client.get(ref);
        health = live === undefined ? { status: 'NotFound', message: 'Resource not found' } : computeHealth(live);
      } catch (error) {
        health = { status: 'Unknown', message: error instanceof Error ? error.message : String(error) };
      }
      statuses.push({ target, health });
    }
    const elapsedMs = now() - started;
    const pending = statuses.filter((item) => item.health.status !== 'Current');
    if (pending.length === 0) return { ok: true, statuses, elapsedMs, message: '' };
    // Flux's fail-fast: stop as soon as one object is Failed, and name the Failed ones.
    const failedNow = statuses.filter((item) => item.health.status === 'Failed');
    if (failedNow.length > 0) {
      return {
        ok: false,
        statuses,
        elapsedMs,
        message: `failed early due to stalled resources: [${failedNow.map(show).join(', ')}]`,
      };
    }
    if (elapsedMs >= options.timeoutMs || options.signal?.aborted === true) {
      return { ok: false, statuses, elapsedMs, message: `timeout waiting for: [${pending.map(show).join(', ')}]` };
    }
    await sleep(Math.min(options.intervalMs, Math.max(1, options.timeoutMs - elapsedMs)));
  }
}

/** Flux's `<Kind/ns/name> status: '<Status>'`, with `: <error>` only when the object could not be read. */
function show(item: { target: WaitTarget; health: Health }): string {
  return `${describeObject(item.target.id)} status: '${item.health.status}'${item.health.status === 'Unknown' ? `: ${item.health.message}` : ''}`;
}

export interface TerminationResult {
  ok: boolean;
  elapsedMs: number;
  /** The targets still present at the end (none when `ok`). */
  remaining: WaitTarget[];
  /** `timeout waiting for termination of: [...]` when not ok. */
  message: string;
}

/**
 * Polls until every target is gone (Flux's `WaitForSetTermination`, used by `deletionPolicy:
 * WaitForTermination`): an object held by a finalizer stays until its controller lets it go. A read that fails
 * counts as still present.
 */
export async function waitForTermination(
  client: ObjectClient,
  targets: readonly WaitTarget[],
  options: WaitOptions,
): Promise<TerminationResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const started = now();
  let remaining = [...targets];
  for (;;) {
    const still: WaitTarget[] = [];
    for (const target of remaining) {
      const ref = refOf(target);
      try {
        if ((await client.get(ref)) !== undefined) still.push(target);
      } catch {
        still.push(target);
      }
    }
    remaining = still;
    const elapsedMs = now() - started;
    if (remaining.length === 0) return { ok: true, elapsedMs, remaining, message: '' };
    if (elapsedMs >= options.timeoutMs || options.signal?.aborted === true) {
      const names = remaining.map((target) => describeObject(target.id)).join(', ');
      return { ok: false, elapsedMs, remaining, message: `timeout waiting for termination of: [${names}]` };
    }
    await sleep(Math.min(options.intervalMs, Math.max(1, options.timeoutMs - elapsedMs)));
  }
}

export function waitFailed(
  code: 'PW_APPLY_FAILED' | 'PW_HEALTH_CHECK_FAILED',
  prefix: string,
  result: WaitResult,
): PinwardenError {
  return new PinwardenError(code, `${prefix}${result.message}`, { details: { elapsedMs: result.elapsedMs } });
}
