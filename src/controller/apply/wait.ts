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
  const read = async (): Promise<WaitResult['statuses']> => {
    const statuses: WaitResult['statuses'] = [];
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
    return statuses;
  };
  return poll(options, read, (statuses, elapsedMs, timeUp) => {
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
    if (timeUp) {
      return { ok: false, statuses, elapsedMs, message: `timeout waiting for: [${pending.map(show).join(', ')}]` };
    }
    return undefined;
  });
}

/**
 * Flux's polling, shared by both waits: `read` the targets, let `decide` answer from what was read, the time
 * elapsed since the start and whether the time is up (timeout passed or aborted); no answer yet: sleep the
 * interval (never past the timeout) and read again. The clock is read once per round, after the reads.
 */
async function poll<S, T>(
  options: WaitOptions,
  read: () => Promise<S>,
  decide: (state: S, elapsedMs: number, timeUp: boolean) => T | undefined,
): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const started = now();
  for (;;) {
    const state = await read();
    const elapsedMs = now() - started;
    const answer = decide(state, elapsedMs, elapsedMs >= options.timeoutMs || options.signal?.aborted === true);
    if (answer !== undefined) return answer;
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
  let remaining = [...targets];
  const read = async (): Promise<WaitTarget[]> => {
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
    return still;
  };
  return poll(options, read, (still, elapsedMs, timeUp) => {
    if (still.length === 0) return { ok: true, elapsedMs, remaining: still, message: '' };
    if (timeUp) {
      const names = still.map((target) => describeObject(target.id)).join(', ');
      return { ok: false, elapsedMs, remaining: still, message: `timeout waiting for termination of: [${names}]` };
    }
    return undefined;
  });
}

export function waitFailed(
  code: 'PW_APPLY_FAILED' | 'PW_HEALTH_CHECK_FAILED',
  prefix: string,
  result: WaitResult,
): PinwardenError {
  return new PinwardenError(code, `${prefix}${result.message}`, { details: { elapsedMs: result.elapsedMs } });
}
