import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRORS, PinwardenError, exitCodeFor, toPinwardenError } from '../../../src/core/errors.ts';

test('every error code maps to an exit code of 1 or 2', () => {
  for (const code of Object.keys(ERRORS) as (keyof typeof ERRORS)[]) {
    assert.ok([1, 2].includes(exitCodeFor(new PinwardenError(code, 'x'))), code);
  }
});

test('foreign errors become PW_INTERNAL and keep their cause', () => {
  const original = new TypeError('boom');
  const wrapped = toPinwardenError(original);
  assert.equal(wrapped.code, 'PW_INTERNAL');
  assert.equal(wrapped.cause, original);
});
