/**
 * The deadline of one admission's registry work: `registry.timeoutSeconds`, shortened to what the caller has
 * left, on the injected clock (tests step it).
 */
import { PinwardenError } from '../core/errors.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import type { Call } from '../oci/index.ts';
import { systemClock } from '../runtime/index.ts';
import type { Clock, Timer } from '../runtime/index.ts';

/**
 * Runs `work` with a deadline of `registry.timeoutSeconds`, shortened to what the caller has left. The timer
 * is cleared as soon as `work` settles: `AbortSignal.timeout` timers cannot be cancelled, and one per
 * admission left thousands firing (and being finalised) under load.
 */
export async function withRegistryCall<T>(
  policy: SourcePolicy,
  remainingMs: number | undefined,
  work: (call: Call) => Promise<T>,
  clock: Clock = systemClock,
): Promise<T> {
  const configured = policy.spec.registry.timeoutSeconds * 1000;
  // Rounded down to 50 ms: Node keeps one timer list per distinct duration, so equal durations share one.
  const exact = remainingMs === undefined ? configured : Math.min(configured, remainingMs);
  const budget = Math.max(1, exact >= 100 ? Math.floor(exact / 50) * 50 : Math.floor(exact));
  const deadline = lazyDeadline(budget, clock);
  try {
    return await work(deadline.call);
  } finally {
    deadline.dispose();
  }
}

/**
 * A Call whose AbortController and timer exist only once something reads `signal`: a warm admission (cache
 * hit, no Secret read) never does, and then pays for neither. The deadline still counts from creation.
 */
export function lazyDeadline(budgetMs: number, clock: Clock = systemClock): { call: Call; dispose(): void } {
  const deadline = clock.now() + budgetMs;
  let controller: AbortController | undefined;
  let timer: Timer | undefined;
  const call: Call = {
    get signal(): AbortSignal {
      if (!controller) {
        const armed = new AbortController();
        const abort = (): void =>
          armed.abort(new PinwardenError('PW_DEADLINE', `registry deadline of ${budgetMs}ms exceeded`));
        const left = deadline - clock.now();
        if (left <= 0) abort();
        else timer = clock.setTimer(abort, left >= 100 ? Math.floor(left / 50) * 50 : left);
        controller = armed;
      }
      return controller.signal;
    },
    deadline,
  };
  return { call, dispose: () => timer?.cancel() };
}
