import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration, parseGoDurationMs } from '../../../src/core/duration.ts';

test('Go duration syntax as Flux and Go CLIs take it', () => {
  const cases: Array<[string, number]> = [
    ['30s', 30_000],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['0', 0],
    ['1h2m3s4ms', 3_723_004],
    ['1500us', 1.5],
    ['2µs', 0.002],
    ['-1s', -1000],
    ['+5s', 5000],
    ['.5s', 500],
    ['1.s', 1000],
  ];
  for (const [text, ms] of cases) assert.equal(parseGoDurationMs(text), ms, text);
});

test('anything else is not a duration', () => {
  for (const text of ['', '30', 's', '1x', '1m30', 'm1', '1 s', '1..5s', '.s', '-', '1d', `${'1s'.repeat(40)}`, '5S']) {
    assert.equal(parseGoDurationMs(text), undefined, text);
  }
});

test('formatGoDuration prints what Go prints', () => {
  assert.equal(formatGoDuration(90_000), '1m30s');
  assert.equal(formatGoDuration(3_600_000), '1h0m0s');
  assert.equal(formatGoDuration(250), '250ms');
  assert.equal(formatGoDuration(0), '0s');
});
