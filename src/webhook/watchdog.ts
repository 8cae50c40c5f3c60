/**
 * One timer for every review that waits on I/O, instead of one per review: each registers its answer-by
 * time, and a sweep every `tickMs` fails the overdue ones with PW_DEADLINE. Under load that is thousands of
 * timers fewer per second; the price is answering up to one tick late, which the server's margin absorbs.
 * Time is the injected clock's, so tests step it instead of waiting.
 */
import { PinwardenError } from '../core/errors.ts';
import { systemClock } from '../runtime/index.ts';
import type { Clock, Timer } from '../runtime/index.ts';

export interface Watchdog {
  /** `work`, or PW_DEADLINE once `answerBy` (ms on the clock) has passed, whichever settles first. */
  guard<T>(work: Promise<T>, answerBy: number): Promise<T>;
  stop(): void;
}

interface Pending {
  answerBy: number;
  fail(error: PinwardenError): void;
}

export function createWatchdog(tickMs = 25, clock: Clock = systemClock): Watchdog {
  const pending = new Set<Pending>();
  let timer: Timer | undefined;

  const sweep = (): void => {
    timer = undefined;
    const at = clock.now();
    for (const entry of pending) {
      if (entry.answerBy <= at) {
        pending.delete(entry);
        entry.fail(
          new PinwardenError(
            'PW_DEADLINE',
            `no decision within the admission deadline (${at - entry.answerBy} ms over)`,
          ),
        );
      }
    }
    if (pending.size > 0) timer = clock.setTimer(sweep, tickMs);
  };

  return {
    guard(work, answerBy) {
      return new Promise((resolve, reject) => {
        const entry: Pending = { answerBy, fail: reject };
        pending.add(entry);
        timer ??= clock.setTimer(sweep, tickMs);
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
      timer?.cancel();
      timer = undefined;
      pending.clear();
    },
  };
}
