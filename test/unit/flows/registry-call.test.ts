import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { withRegistryCall } from '../../../src/flows/index.ts';
import { createManualClock } from '../../../src/runtime/index.ts';
import { policyFrom } from '../../helpers/rule-tester.ts';

const POLICY = policyFrom('registry: {timeoutSeconds: 2}');

test('the registry deadline is the shorter of the policy timeout and what the caller has left, on the injected clock', async () => {
  const clock = createManualClock(1_000);
  let aborted: Error | undefined;
  const work = withRegistryCall(
    POLICY,
    700,
    (call) =>
      new Promise<never>((_resolve, reject) => {
        call.signal.addEventListener('abort', () => reject((aborted = call.signal.reason as Error)));
      }),
    clock,
  );
  clock.advance(699);
  assert.equal(aborted, undefined);
  clock.advance(1);
  await assert.rejects(
    work,
    (error: unknown) => error instanceof PinwardenError && error.code === 'PW_DEADLINE' && /700ms/.test(error.message),
  );
});

test('work that settles first leaves no timer behind', async () => {
  const clock = createManualClock();
  const value = await withRegistryCall(
    POLICY,
    undefined,
    async (call) => (call.signal.aborted ? 'late' : 'done'),
    clock,
  );
  assert.equal(value, 'done');
  assert.equal(clock.pending, 0);
});
