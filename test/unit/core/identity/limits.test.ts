import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  budgetClock,
  checkContainment,
  DEFAULT_BUDGET_MS,
  WALL_CEILING_FACTOR,
} from '../../../../src/core/identity/index.ts';

const BLOW_UP = '(a|b)*a(a|b){30}';

function timed<T>(run: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = run();
  return { value, ms: performance.now() - start };
}

test('a determinisation blow-up answers too-complex within one second', () => {
  const cases: readonly [submitted: string, allowed: string][] = [
    [BLOW_UP, '^x$'],
    [BLOW_UP, BLOW_UP],
    [`^https://github\\.com/${BLOW_UP}`, '^https://github\\.com/.*a.{30}'],
    [`${BLOW_UP}c`, BLOW_UP],
  ];
  // The budget is this thread's CPU time (250 ms) with a wall ceiling of 3× it: the CPU bound is asserted as
  // it was, the wall bound with slack for a loaded machine (where waiting for a core is not our work).
  for (const [submitted, allowed] of cases) {
    const cpuStart = budgetClock();
    const { value, ms } = timed(() => checkContainment(submitted, allowed));
    const cpu = budgetClock() - cpuStart;
    assert.equal(value.result, 'too-complex', `${submitted} ⊆ ${allowed}: ${JSON.stringify(value)}`);
    assert.ok(cpu < 1000, `${submitted} ⊆ ${allowed} used ${cpu.toFixed(0)} ms of CPU`);
    assert.ok(
      ms < DEFAULT_BUDGET_MS * WALL_CEILING_FACTOR + 2000,
      `${submitted} ⊆ ${allowed} took ${ms.toFixed(0)} ms`,
    );
  }
});

test('a blow-up that is irrelevant to the answer does not stop a counterexample', () => {
  // The submitted side matches "x", which the allowed side never accepts: found before any explosion.
  const outcome = checkContainment('x', BLOW_UP);
  assert.deepEqual(outcome, { result: 'not-contained', counterexample: 'x' });
  // Once the allowed side has matched its prefix, the submitted side's exploding suffix is never explored.
  assert.deepEqual(checkContainment(`^https://github\\.com/${BLOW_UP}`, '^https://github\\.com/'), {
    result: 'contained',
  });
});

test('the state limit is honoured and named in the reason', () => {
  const outcome = checkContainment(BLOW_UP, '^x$', { maxStates: 200, budgetMs: 10_000 });
  assert.equal(outcome.result, 'too-complex');
  assert.ok(outcome.result === 'too-complex' && outcome.reason.includes('200 states'), JSON.stringify(outcome));
});

test('the time budget uses the injected monotonic clock', () => {
  let clock = 0;
  const now = (): number => (clock += 5);
  const outcome = checkContainment(BLOW_UP, '^x$', { budgetMs: 100, maxStates: 1_000_000, now });
  assert.equal(outcome.result, 'too-complex');
  assert.ok(outcome.result === 'too-complex' && outcome.reason.includes('100 ms'), JSON.stringify(outcome));
});

test('large but linear programs stay decidable', () => {
  const { value, ms } = timed(() => checkContainment('^[a-z]{200}$', '^[a-z]+$', { budgetMs: 5_000 }));
  assert.deepEqual(value, { result: 'contained' });
  assert.ok(ms < 5_000);
  assert.ok(DEFAULT_BUDGET_MS < 1000, 'the default budget keeps every answer under a second');
});
