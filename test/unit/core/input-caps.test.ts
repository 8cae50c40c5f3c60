/** The caps are judged in UTF-8 bytes, whatever shortcut the check takes for short strings. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { INPUT_CAPS, bucketCapViolations, inputCapViolations } from '../../../src/core/input-caps.ts';
import { readBucket, readOciRepository } from '../../../src/core/flux/index.ts';

const ociWithUrl = (url: string) => readOciRepository({ spec: { url } });
// Mostly multi-byte text near the cap: 1-, 2-, 3- and 4-byte characters (the last a surrogate pair).
const nearCap = (limit: number) =>
  fc
    .array(fc.constantFrom('a', 'é', '€', '😀'), { minLength: Math.floor(limit / 4) - 8, maxLength: limit + 8 })
    .map((chars) => chars.join(''));

test('spec.url is over its cap exactly when its UTF-8 encoding is', () => {
  fc.assert(
    fc.property(nearCap(INPUT_CAPS.urlBytes), (url) => {
      const over = inputCapViolations(ociWithUrl(url)).some((violation) => violation.path === 'spec.url');
      assert.equal(over, Buffer.byteLength(url) > INPUT_CAPS.urlBytes);
    }),
    { numRuns: 300 },
  );
});

test('a Bucket spec.ignore is over its cap exactly when its UTF-8 encoding is', () => {
  fc.assert(
    fc.property(nearCap(INPUT_CAPS.bucketIgnoreBytes), (ignore) => {
      const over = bucketCapViolations(readBucket({ spec: { ignore } })).length > 0;
      assert.equal(over, Buffer.byteLength(ignore) > INPUT_CAPS.bucketIgnoreBytes);
    }),
    { numRuns: 100 },
  );
});

test('the boundary: 682 three-byte characters are within 2048 bytes, 683 are over', () => {
  assert.deepEqual(inputCapViolations(ociWithUrl('€'.repeat(682))), []);
  assert.equal(inputCapViolations(ociWithUrl('€'.repeat(683)))[0]?.actual, '2049 bytes');
});
