/** The nesting check that runs on every review body before JSON.parse (issue #7: no recursive walk of a deep body). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { jsonDepthExceeds } from '../../../src/webhook/index.ts';

/** The nesting depth of a parsed value, the way the scan counts it: each array or object is one level. */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value !== null && typeof value === 'object') return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

test('jsonDepthExceeds: the boundary is exact, for arrays, objects and both', () => {
  for (const limit of [0, 1, 2, 5, 128]) {
    for (const [open, close] of [
      ['[', ']'],
      ['{"a":', '}'],
    ] as const) {
      const nested = (depth: number) => `${open.repeat(depth)}1${close.repeat(depth)}`;
      assert.equal(jsonDepthExceeds(nested(limit), limit), false, `${open} ${limit} deep, limit ${limit}`);
      assert.equal(jsonDepthExceeds(nested(limit + 1), limit), true, `${open} ${limit + 1} deep, limit ${limit}`);
    }
  }
  assert.equal(jsonDepthExceeds(`${'[{"k":'.repeat(3)}0${'}]'.repeat(3)}`, 5), true);
  assert.equal(jsonDepthExceeds(`${'[{"k":'.repeat(3)}0${'}]'.repeat(3)}`, 6), false);
});

test('jsonDepthExceeds: many brackets side by side are not depth', () => {
  const wide = `[${Array.from({ length: 1000 }, () => '{"a":[]}').join(',')}]`;
  assert.equal(jsonDepthExceeds(wide, 3), false);
  assert.equal(jsonDepthExceeds(wide, 2), true);
});

test('jsonDepthExceeds: brackets inside strings, escaped quotes and non-ASCII text do not count', () => {
  const inString = JSON.stringify({ a: '[[[[[[{{{{{{', b: 'say \\"[[[[\\" é € 😀 [[[[' });
  assert.equal(jsonDepthExceeds(inString, 1), false);
  const escapedQuote = JSON.stringify(['"[[[[[[', '\\', '[[[[[']);
  assert.equal(jsonDepthExceeds(escapedQuote, 1), false);
  assert.equal(jsonDepthExceeds(`{"😀": [["€"]]}`, 2), true);
  assert.equal(jsonDepthExceeds(`{"😀": [["€"]]}`, 3), false);
});

test('jsonDepthExceeds: 100,000 deep is refused without recursion', () => {
  assert.equal(jsonDepthExceeds('['.repeat(100_000), 128), true);
  assert.equal(jsonDepthExceeds(`{"a":${'{"a":'.repeat(100_000)}`, 128), true);
});

test('jsonDepthExceeds: agrees with the depth of the parsed value (property)', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 8 }), (value, limit) => {
      const text = JSON.stringify(value);
      assert.equal(jsonDepthExceeds(text, limit), depthOf(value) > limit);
    }),
    { numRuns: 2000 },
  );
});
