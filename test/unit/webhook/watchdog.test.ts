import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { createManualClock } from '../../../src/runtime/index.ts';
import { createWatchdog } from '../../../src/webhook/watchdog.ts';

const never = (): Promise<never> => new Promise<never>(() => undefined);
const isDeadline = (error: unknown): boolean => error instanceof PinwardenError && error.code === 'PW_DEADLINE';

test('work that settles in time passes its value through', async () => {
  const clock = createManualClock(0);
  const watchdog = createWatchdog(5, clock);
  assert.equal(await watchdog.guard(Promise.resolve(42), 1000), 42);
  watchdog.stop();
});

test('work that fails in time passes its own error through, not a deadline', async () => {
  const watchdog = createWatchdog(5, createManualClock(0));
  const boom = new TypeError('boom');
  await assert.rejects(watchdog.guard(Promise.reject(boom), 1000), (error: unknown) => error === boom);
  watchdog.stop();
});

test('overdue work fails with PW_DEADLINE at the first sweep past its answer-by time, not before', async () => {
  const clock = createManualClock(0);
  const watchdog = createWatchdog(10, clock);
  let settled: unknown;
  void watchdog.guard(never(), 30).catch((error: unknown) => (settled = error));
  clock.advance(29);
  await Promise.resolve();
  assert.equal(settled, undefined);
  clock.advance(1);
  await Promise.resolve();
  assert.ok(isDeadline(settled), String(settled));
  watchdog.stop();
});

test('one timer serves every guarded review', async () => {
  const clock = createManualClock(0);
  const watchdog = createWatchdog(10, clock);
  const outcomes = Array.from({ length: 100 }, () => watchdog.guard(never(), 30).catch((error: unknown) => error));
  assert.equal(clock.pending, 1);
  clock.advance(30);
  for (const outcome of await Promise.all(outcomes)) assert.ok(isDeadline(outcome), String(outcome));
  assert.equal(clock.pending, 0, 'no sweep is left armed once nothing waits');
  watchdog.stop();
});
