import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ERRORS,
  PinwardenError,
  errorLogFields,
  exitCodeFor,
  statusFor,
  toPinwardenError,
} from '../../../src/core/errors.ts';
import type { ErrorCode } from '../../../src/core/errors.ts';
import { excusedAsUnreachable } from '../../../src/core/policy/index.ts';
import { policyFrom } from '../../helpers/rule-tester.ts';

const CODES = Object.keys(ERRORS) as ErrorCode[];

test('every code carries an exit code of 1 or 2 and an HTTP status', () => {
  for (const code of CODES) {
    const error = new PinwardenError(code, 'x');
    assert.ok([1, 2].includes(error.exitCode), code);
    assert.equal(exitCodeFor(error), error.exitCode);
    assert.ok(error.status >= 400 && error.status < 600, code);
    assert.equal(error.reason, ERRORS[code].reason);
  }
});

test('the envelope codes answer with their own HTTP status; a review pinwarden could not decide is 500', () => {
  assert.deepEqual(
    [
      'PW_REVIEW_MALFORMED',
      'PW_REVIEW_TOO_LARGE',
      'PW_REVIEW_MEDIA_TYPE',
      'PW_REVIEW_BUSY',
      'PW_DEADLINE',
      'PW_INTERNAL',
    ].map((code) => statusFor(code as ErrorCode)),
    [400, 413, 415, 503, 500, 500],
  );
});

test('exit codes: input 2, verification and unavailable 1, and an unsafe artifact is a failed verification (1)', () => {
  assert.deepEqual(
    (
      [
        'PW_INPUT_INVALID',
        'PW_USAGE',
        'PW_SIGNATURE_INVALID',
        'PW_REGISTRY_UNREACHABLE',
        'PW_ARTIFACT_UNSAFE',
        'PW_INTERNAL',
      ] as const
    ).map((code) => exitCodeFor(code)),
    [2, 2, 1, 1, 1, 2],
  );
});

test('a foreign error becomes PW_INTERNAL with a generic message, keeping the original as cause', () => {
  const original = new TypeError('fetch https://r.example/v2/?token=s3cr3t failed');
  const wrapped = toPinwardenError(original);
  assert.equal(wrapped.code, 'PW_INTERNAL');
  assert.equal(wrapped.message, 'an unexpected internal error (TypeError)');
  assert.equal(wrapped.cause, original);
  const fields = errorLogFields(original);
  assert.equal(JSON.stringify(fields).includes('s3cr3t'), false);
  assert.equal(fields.causeType, 'TypeError');
});

test('a PinwardenError passes through unchanged, its fallback code ignored', () => {
  const ours = new PinwardenError('PW_DEADLINE', 'resolve r/app:1: deadline exceeded');
  assert.equal(toPinwardenError(ours, 'PW_POLICY_INVALID'), ours);
});

test('onUnreachable: warn excuses only the unavailable kind, and only when the policy says warn', () => {
  const warn = policyFrom('registry: {onUnreachable: warn}');
  const deny = policyFrom('registry: {onUnreachable: deny}');
  assert.equal(excusedAsUnreachable(new PinwardenError('PW_DEADLINE', 'x'), warn), true);
  assert.equal(excusedAsUnreachable(new PinwardenError('PW_DEADLINE', 'x'), deny), false);
  assert.equal(excusedAsUnreachable(new PinwardenError('PW_REGISTRY_ADDRESS_DENIED', 'x'), warn), false);
  assert.equal(excusedAsUnreachable(new PinwardenError('PW_SIGNATURE_INVALID', 'x'), warn), false);
  assert.equal(excusedAsUnreachable(new PinwardenError('PW_INTERNAL', 'x'), warn), false);
});

test('docs/errors.md has one row per error code, with its kind, reason, HTTP status and exit code', async () => {
  const { readFile } = await import('node:fs/promises');
  const doc = await readFile(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  for (const code of CODES) {
    const row = doc.split('\n').find((line) => line.startsWith(`| ${code} |`));
    assert.ok(row, `docs/errors.md lacks ${code}`);
    const error = new PinwardenError(code, 'x');
    const cells = row.split('|').map((cell) => cell.trim());
    assert.deepEqual(cells.slice(2, 6), [error.kind, error.reason, String(error.status), String(error.exitCode)], row);
  }
});
