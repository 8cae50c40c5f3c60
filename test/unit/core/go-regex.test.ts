// core/go-regex.ts is the one reader of a Go pattern: its syntax checks and matching, and the identity module's
// programs (compileGoRegex), all start from parseGoRegex, so they can never disagree about what a pattern means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goRegexMatches, goRegexSyntaxError, parseGoRegex } from '../../../src/core/go-regex.ts';
import { compileGoRegex } from '../../../src/core/identity/index.ts';

const PATTERNS = [
  '^https://github\\.com/acme/.+$',
  '(?i)^K$',
  '\\Aabc\\z',
  '^\\Qa.b*\\E$',
  '(?m)^b$',
  '^\\p{Greek}+$',
  '^[[:alpha:]]+$',
  '^.$',
  '(?=a)',
  '(a)\\1',
  'x{1001}',
  '[a',
  'x\udc00',
];
const VALUES = [
  'https://github.com/acme/app',
  'K',
  '\u212a',
  'k',
  'abc',
  'abc\n',
  'a.b*',
  'a\nb\nc',
  'αβ',
  'abcXYZ',
  '😀',
  '',
];

test("Go's syntax and Go's error text, from re2js alone", () => {
  assert.deepEqual(parseGoRegex('(?=a)'), {
    ok: false,
    message: 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
  });
  assert.deepEqual(parseGoRegex('x\udc00'), { ok: false, message: 'error parsing regexp: invalid UTF-8: `\ufffd`' });
  assert.equal(goRegexSyntaxError('x{1001}'), 'error parsing regexp: invalid repeat count: `{1001}`');
  assert.equal(goRegexSyntaxError('^a+$'), undefined);
  // Unanchored MatchString, Go's case folding (k, K and the Kelvin sign), and no match for a broken pattern.
  assert.equal(goRegexMatches('acme', 'https://github.com/acme/app'), true);
  assert.equal(goRegexMatches('(?i)^k$', '\u212a'), true);
  assert.equal(goRegexMatches('^acme', 'https://github.com/acme/app'), false);
  assert.equal(goRegexMatches('(?=a)', 'a'), false);
});

test('syntax checks and matching agree with the programs the inclusion proofs are built from', () => {
  for (const pattern of PATTERNS) {
    const compiled = compileGoRegex(pattern);
    assert.equal(goRegexSyntaxError(pattern), compiled.ok ? undefined : compiled.message, pattern);
    for (const value of VALUES) {
      const expected = compiled.ok && compiled.regex.matchString(value);
      assert.equal(goRegexMatches(pattern, value), expected, `${pattern} on ${JSON.stringify(value)}`);
    }
  }
});
