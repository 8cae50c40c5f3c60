import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../../src/runtime/index.ts';

test('the manual clock runs due timers in due order when advanced, and not before', () => {
  const clock = createManualClock(1000);
  const ran: string[] = [];
  clock.setTimer(() => ran.push(`b@${clock.now()}`), 20);
  clock.setTimer(() => ran.push(`a@${clock.now()}`), 10);
  const cancelled = clock.setTimer(() => ran.push('never'), 15);
  cancelled.cancel();
  clock.advance(9);
  assert.deepEqual(ran, []);
  clock.advance(11);
  assert.deepEqual(ran, ['a@1010', 'b@1020']);
  assert.equal(clock.now(), 1020);
  assert.equal(clock.pending, 0);
});

test('a timer set by a running timer fires in the same advance when it falls due', () => {
  const clock = createManualClock();
  const ran: number[] = [];
  clock.setTimer(() => clock.setTimer(() => ran.push(clock.now()), 5), 5);
  clock.advance(10);
  assert.deepEqual(ran, [10]);
});

test('sleep resolves when time reaches it; an abort rejects with the signal reason', async () => {
  const clock = createManualClock();
  let woke = false;
  const sleeping = clock.sleep(100).then(() => (woke = true));
  clock.advance(99);
  await Promise.resolve();
  assert.equal(woke, false);
  clock.advance(1);
  await sleeping;
  assert.equal(woke, true);
  const controller = new AbortController();
  const aborted = clock.sleep(100, controller.signal);
  controller.abort(new Error('stop now'));
  await assert.rejects(aborted, { message: 'stop now' });
  assert.equal(clock.pending, 0);
});
