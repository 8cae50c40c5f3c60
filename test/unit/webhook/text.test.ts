import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { PinwardenError } from '../../../src/core/errors.ts';
import { createLogger } from '../../../src/runtime/index.ts';
import { MAX_WARNING_LENGTH, decodeReview, timeoutQueryReader, truncateWarning } from '../../../src/webhook/index.ts';
import { limitWarnings } from '../../../src/webhook/warnings.ts';

test('truncateWarning: at most 120 characters, cut at a word boundary, whitespace flattened', () => {
  const long = `[identity-not-allowed] spec.verify.matchOIDCIdentity[0].subject: ${'word '.repeat(60)}`;
  const cut = truncateWarning(long);
  assert.ok(cut.length <= MAX_WARNING_LENGTH);
  assert.ok(cut.endsWith('…'));
  assert.ok(cut.startsWith('[identity-not-allowed] spec.verify'));
  assert.ok(!cut.includes('wor…'), 'no word cut in half');
  assert.equal(truncateWarning('a\n  b'), 'a b');
  const unbroken = 'x'.repeat(300);
  assert.equal(truncateWarning(unbroken).length, MAX_WARNING_LENGTH);
});

test('limitWarnings: deduplicated, bounded, with a note for the rest', () => {
  assert.deepEqual(limitWarnings(['a', 'a', '', 'b']), ['a', 'b']);
  const many = limitWarnings(Array.from({ length: 40 }, (_, index) => `w${index}`));
  assert.equal(many.length, 20);
  assert.match(many.at(-1) ?? '', /21 more warnings/);
});

test('timeoutQueryReader: the apiserver timeout query, read as a Go duration', () => {
  const timeoutOf = timeoutQueryReader();
  assert.equal(timeoutOf('10s'), 10_000);
  assert.equal(timeoutOf('1m0s'), 60_000);
  assert.equal(timeoutOf('1.5s'), 1500);
  assert.equal(timeoutOf('250ms'), 250);
  assert.equal(timeoutOf('1500000us'), 1500);
  for (const bad of [undefined, '', '10', 'ten', '-1s', '0s', '0', '1s-', ['10s', '5s'], 10])
    assert.equal(timeoutOf(bad), undefined, String(bad));
});

test("timeoutQueryReader: the value kept for a repeated query is that query's own, and a long one is refused", () => {
  const timeoutOf = timeoutQueryReader();
  for (const [text, expected] of [
    ['10s', 10_000],
    ['10s', 10_000],
    ['ten', undefined],
    ['ten', undefined],
    ['30s', 30_000],
    ['10s', 10_000],
    ['', undefined],
  ] as const)
    assert.equal(timeoutOf(text), expected, text);
  assert.equal(timeoutOf(`${'1'.repeat(70)}s`), undefined);
});

test('timeoutQueryReader: each server keeps its own last query', () => {
  const first = timeoutQueryReader();
  const second = timeoutQueryReader();
  assert.equal(first('10s'), 10_000);
  assert.equal(second('5s'), 5000);
  assert.equal(first('10s'), 10_000);
});

test('decodeReview: strict envelope, tolerant content', () => {
  const request = decodeReview({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u',
      operation: 'UPDATE',
      namespace: 'n',
      dryRun: true,
      object: { a: 1 },
      oldObject: null,
      userInfo: { username: 'me' },
      extra: 'ignored',
    },
  });
  assert.deepEqual(request, {
    uid: 'u',
    operation: 'UPDATE',
    namespace: 'n',
    dryRun: true,
    object: { a: 1 },
    user: 'me',
  });
  const odd = decodeReview({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u', operation: 7, dryRun: 'yes', namespace: ['x'] },
  });
  assert.deepEqual(odd, { uid: 'u', operation: '', dryRun: false, object: null });
  for (const bad of [
    null,
    [],
    'x',
    { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '' } },
  ]) {
    assert.throws(
      () => decodeReview(bad),
      (error: unknown) => error instanceof PinwardenError && error.code === 'PW_REVIEW_MALFORMED',
    );
  }
});

test('logger: authorization headers, tokens, passwords and Secret data are redacted', () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ destination });
  logger.info(
    {
      headers: { authorization: 'Bearer top-secret-1' },
      auth: { password: 'top-secret-2', token: 'top-secret-3' },
      secret: { data: { '.dockerconfigjson': 'top-secret-4' } },
      object: 'apps/a',
    },
    'hello',
  );
  const text = lines.join('');
  assert.ok(!/top-secret/.test(text), text);
  assert.match(text, /apps\/a/);
});
