/**
 * One timer for every review that waits on I/O, instead of one per review: each registers its answer-by
 * time, and a sweep every `tickMs` fails the overdue ones with PW_DEADLINE. Under load that is thousands of
 * timers fewer per second; the price is answering up to one tick late, which the server's margin absorbs.
 */
import { PinwardenError } from '../core/errors.ts';

export interface Watchdog {
  /** `work`, or PW_DEADLINE once `answerBy` (ms since the epoch) has passed, whichever settles first. */
  guard<T>(work: Promise<T>, answerBy: number): Promise<T>;
  stop(): void;
}

interface Pending {
  answerBy: number;
  fail(error: PinwardenError): void;
}

export function createWatchdog(tickMs = 25, now: () => number = Date.now): Watchdog {
  const pending = new Set<Pending>();
  let timer: NodeJS.Timeout | undefined;

  const sweep = (): void => {
    const at = now();
    for (const entry of pending) {
      if (entry.answerBy <= at) {
        pending.delete(entry);
        entry.fail(new PinwardenError('PW_DEADLINE', `no decision within the admission deadline (${at - entry.answerBy} ms over)`));
      }
    }
    if (pending.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  return {
    guard(work, answerBy) {
      return new Promise((resolve, reject) => {
        const entry: Pending = { answerBy, fail: reject };
        pending.add(entry);
        timer ??= setInterval(sweep, tickMs).unref();
        work.then(
          (value) => {
            pending.delete(entry);
            resolve(value);
          },
          (error: unknown) => {
            pending.delete(entry);
            // The caller maps any error to an answer; only a non-Error throw is wrapped on the way.
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      pending.clear();
    },
  };
}
