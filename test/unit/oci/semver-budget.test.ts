import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { highestMatchingTag, highestMatchingTagWithin, parseSemverConstraint } from '../../../src/oci/semver-tags.ts';

const TAGS = Array.from({ length: 5000 }, (_, index) => `${Math.floor(index / 100)}.${index % 100}.0`);

test('the sliced selection picks what the one-shot selection picks', async () => {
  for (const range of ['>=1.0.0 <2.0.0', '~3.4', '>=10.0.0 || <0.5.0', '>=99.0.0']) {
    const constraint = parseSemverConstraint(range);
    assert.equal(
      await highestMatchingTagWithin(TAGS, constraint, undefined, { sliceMs: 0 }),
      highestMatchingTag(TAGS, constraint),
      range,
    );
  }
});

test('the selection yields to the event loop between slices', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  // A clock that advances 1 ms per reading: every 16 tags end a 5 ms slice.
  let at = 0;
  await highestMatchingTagWithin(TAGS, parseSemverConstraint('>=1.0.0'), undefined, {
    sliceMs: 5,
    budgetMs: 1e9,
    now: () => at++,
  });
  clearInterval(timer);
  assert.ok(ticks > 0, 'a timer ran while the selection was in progress');
});

test('past its budget the selection stops with PW_INPUT_TOO_LARGE, naming the budget', async () => {
  let at = 0;
  await assert.rejects(
    highestMatchingTagWithin(TAGS, parseSemverConstraint('>=1.0.0'), undefined, {
      sliceMs: 10,
      budgetMs: 100,
      now: () => (at += 1),
    }),
    (error: unknown) =>
      error instanceof PinwardenError &&
      error.code === 'PW_INPUT_TOO_LARGE' &&
      /100 ms selection budget against 5000 tags/.test(error.message),
  );
});

test('an aborted call stops at the next slice', async () => {
  const controller = new AbortController();
  controller.abort(new PinwardenError('PW_DEADLINE', 'resolve: deadline exceeded'));
  let at = 0;
  await assert.rejects(
    highestMatchingTagWithin(TAGS, parseSemverConstraint('>=1.0.0'), undefined, {
      sliceMs: 5,
      now: () => at++,
      signal: controller.signal,
    }),
    (error: unknown) => error instanceof PinwardenError && error.code === 'PW_DEADLINE',
  );
});
