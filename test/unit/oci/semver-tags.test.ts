import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import {
  compileTagFilter,
  highestMatchingTag,
  parseSemverConstraint,
  parseTagVersion,
} from '../../../src/oci/index.ts';

test('tags are read with Flux relaxed rules: three parts, v prefix and leading zeros allowed', () => {
  const table: [string, string | undefined][] = [
    ['1.2.3', '1.2.3'],
    ['v1.2.3', '1.2.3'],
    ['v2025.02.03-rc.1', '2025.2.3-rc.1'],
    ['1.2.3+build.5', '1.2.3'],
    ['1.2', undefined],
    ['1', undefined],
    ['1.2.3.4', undefined],
    ['latest', undefined],
    ['V1.2.3', undefined],
    ['sha256-abc.sig', undefined],
  ];
  for (const [tag, version] of table) assert.equal(parseTagVersion(tag)?.version, version, tag);
});

test('highest satisfying tag, Masterminds constraint syntax', () => {
  const tags = ['1.0.0', 'v1.2.0', '1.10.0', '2.0.0-rc.1', '2.0.0', 'latest', '0.9.9', '1.10.0-rc.1'];
  const pick = (range: string, filter?: string) =>
    highestMatchingTag(tags, parseSemverConstraint(range), filter === undefined ? undefined : compileTagFilter(filter));
  assert.equal(pick('>=1.0.0 <2.0.0'), '1.10.0');
  assert.equal(pick('>=1.0.0, <2.0.0'), '1.10.0');
  assert.equal(pick('^1.0'), '1.10.0');
  assert.equal(pick('~1.2'), 'v1.2.0');
  assert.equal(pick('*'), '2.0.0');
  assert.equal(pick('>=2.0.0-0'), '2.0.0');
  assert.equal(pick('>= 1.10.x-0 <2.0.0'), '1.10.0');
  assert.equal(pick('>=3.0.0'), undefined);
  // Pre-releases only when the constraint names one.
  assert.equal(highestMatchingTag(['1.0.0', '2.0.0-rc.1'], parseSemverConstraint('>=1.0.0')), '1.0.0');
  assert.equal(highestMatchingTag(['1.0.0', '2.0.0-rc.1'], parseSemverConstraint('>=1.0.0-0')), '2.0.0-rc.1');
  // semverFilter: Go regexp, unanchored.
  assert.equal(pick('*', '^v'), 'v1.2.0');
  assert.equal(pick('*', '\\.0\\.0$'), '2.0.0');
  assert.equal(pick('*', '0\\.9'), '0.9.9');
});

test('semverFilter uses RE2 semantics, not JS RegExp', () => {
  // \z is RE2's end-of-text; JS RegExp has no such escape. (?i) is an RE2 inline flag.
  assert.equal(compileTagFilter('\\.0\\z')('1.0.0'), true);
  assert.equal(compileTagFilter('(?i)^V1')('v1.0.0'), true);
  // Backreferences are not RE2: refused as input, never evaluated with a backtracking engine.
  assert.throws(
    () => compileTagFilter('(a)\\1'),
    (error: unknown) => error instanceof PinwardenError && error.code === 'PW_INPUT_INVALID',
  );
});

test('a bad range is an input error', () => {
  assert.throws(
    () => parseSemverConstraint('>=banana'),
    (error: unknown) => error instanceof PinwardenError && error.code === 'PW_INPUT_INVALID',
  );
});
