import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { createWatchdog } from '../../../src/webhook/watchdog.ts';

test('work that settles in time passes through, value or error', async () => {
  const watchdog = createWatchdog(5);
  assert.equal(await watchdog.guard(Promise.resolve(42), Date.now() + 1000), 42);
  await assert.rejects(watchdog.guard(Promise.reject(new Error('boom')), Date.now() + 1000), /boom/);
  watchdog.stop();
});

test('overdue work fails with PW_DEADLINE within about one tick, and one timer serves many reviews', async () => {
  const watchdog = createWatchdog(10);
  const never = new Promise<never>(() => undefined);
  const started = Date.now();
  const outcomes = await Promise.allSettled(Array.from({ length: 100 }, () => watchdog.guard(never, started + 30)));
  const elapsed = Date.now() - started;
  for (const outcome of outcomes) {
    assert.equal(outcome.status, 'rejected');
    assert.ok(outcome.reason instanceof PinwardenError && outcome.reason.code === 'PW_DEADLINE');
  }
  assert.ok(elapsed >= 30 && elapsed < 200, `answered ${elapsed} ms after start`);
  watchdog.stop();
});
