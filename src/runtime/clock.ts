/**
 * The process clock, injected wherever time decides an outcome (deadlines, watchdog sweeps, Retry-After
 * waits, cache expiry), so tests step time instead of sleeping. `systemClock` is the real one; the manual
 * clock runs due timers only when a test calls `advance`.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** ms since the epoch. */
  now(): number;
  /** Runs `callback` once after `ms`; a real timer never keeps the process alive. */
  setTimer(callback: () => void, ms: number): Timer;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, ms) {
    const handle = setTimeout(callback, ms);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
  sleep: (ms, signal) => sleepOn(systemClock, ms, signal),
};

/** `sleep` over any clock's timers: the one implementation both clocks share. */
function sleepOn(clock: Pick<Clock, 'setTimer'>, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      timer.cancel();
      reject(abortReason(signal));
    };
    const timer = clock.setTimer(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}

export interface ManualClock extends Clock {
  /** Moves time forward by `ms`, running every timer that falls due, in order of due time. */
  advance(ms: number): void;
  /** Timers not yet run nor cancelled. */
  readonly pending: number;
}

export function createManualClock(startMs = 0): ManualClock {
  let at = startMs;
  let sequence = 0;
  const timers = new Map<number, { due: number; callback: () => void }>();
  const clock: ManualClock = {
    now: () => at,
    setTimer(callback, ms) {
      const id = sequence++;
      timers.set(id, { due: at + Math.max(0, ms), callback });
      return { cancel: () => void timers.delete(id) };
    },
    sleep: (ms, signal) => sleepOn(clock, ms, signal),
    advance(ms) {
      const until = at + ms;
      for (;;) {
        let next: [number, { due: number; callback: () => void }] | undefined;
        for (const entry of timers)
          if (entry[1].due <= until && (next === undefined || entry[1].due < next[1].due)) next = entry;
        if (next === undefined) break;
        timers.delete(next[0]);
        at = Math.max(at, next[1].due);
        next[1].callback();
      }
      at = until;
    },
    get pending() {
      return timers.size;
    },
  };
  return clock;
}
