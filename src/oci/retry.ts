/**
 * Retry timing: exponential backoff with jitter for 429/502/503/504 and network errors, `Retry-After`
 * (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) honoured — but never past the call's deadline: a wait
 * that would end after it fails now, naming the cause. The clock is injectable so tests never sleep.
 */
import { PinwardenError } from '../core/errors.ts';
import type { Call } from './types.ts';

export interface Clock {
  now(): number;
  /** Resolves after `ms`, rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** [0, 1), for jitter. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  random: () => Math.random(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface RetryPolicy {
  /** Total attempts, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A longer `Retry-After` is not waited for (the call fails with PW_RATE_LIMITED at once). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
};

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Delay before retry number `attempt` (0-based): base·2^attempt, capped, jittered into [½, 1]× of it. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/** `Retry-After` in ms from `now`, or undefined when absent or unparseable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Failure that a retry may cure; `error` is thrown if no retry happens. */
export interface RetryableFailure {
  error: PinwardenError;
  retryAfterMs?: number;
}

/**
 * How long to wait before the next attempt, or the error to throw now: attempts used up, a `Retry-After`
 * beyond the policy, or a wait that would run past the deadline.
 */
export function planRetry(
  policy: RetryPolicy,
  clock: Clock,
  call: Call,
  attempt: number,
  failure: RetryableFailure,
): number | PinwardenError {
  if (attempt + 1 >= policy.maxAttempts) return withReason(failure.error, `gave up after ${attempt + 1} attempts`);
  if (failure.retryAfterMs !== undefined && failure.retryAfterMs > policy.maxRetryAfterMs) {
    return withReason(failure.error, `Retry-After of ${seconds(failure.retryAfterMs)} is longer than allowed`);
  }
  const delay = failure.retryAfterMs ?? backoffDelay(policy, attempt, clock.random());
  if (call.deadline !== undefined && clock.now() + delay >= call.deadline) {
    return withReason(failure.error, `retrying in ${seconds(delay)} would pass the deadline`);
  }
  return delay;
}

/** The abort of a call's signal, as the catalogue's deadline error (the reason kept as cause). */
export function deadlineError(what: string, signal: AbortSignal): PinwardenError {
  return new PinwardenError('PW_DEADLINE', `${what}: deadline exceeded`, { cause: signal.reason });
}

/** A call whose signal fires after `timeoutMs`, with its deadline on `clock`. */
export function callWithTimeout(
  timeoutMs: number,
  clock: Pick<Clock, 'now'> = systemClock,
): Call & { deadline: number } {
  return { signal: AbortSignal.timeout(timeoutMs), deadline: clock.now() + timeoutMs };
}

function withReason(error: PinwardenError, reason: string): PinwardenError {
  return new PinwardenError(error.code, `${error.message} (${reason})`, {
    cause: error.cause,
    details: { ...error.details, reason },
  });
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`;
}
