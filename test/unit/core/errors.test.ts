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

test('docs/errors.md has one row per error code, with its kind and reason', async () => {
  const { readFile } = await import('node:fs/promises');
  const doc = await readFile(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  for (const [code, entry] of Object.entries(ERRORS)) {
    const row = doc.split('\n').find((line) => line.startsWith(`| ${code} |`));
    assert.ok(row, `docs/errors.md lacks ${code}`);
    assert.ok(row.includes(`| ${entry.kind} |`) && row.includes(`| ${entry.reason} |`), row);
  }
});
