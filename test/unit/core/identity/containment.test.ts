import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import { checkContainment, compileGoRegex } from '../../../../src/core/identity/index.ts';
import type { ContainmentResult } from '../../../../src/core/identity/index.ts';

/** Expected outcome: contained, or not-contained with (optionally) the exact readable counterexample. */
type Expected = 'contained' | 'not-contained' | { counterexample: string };
type Row = readonly [submitted: string, allowed: string, expected: Expected];

function assertSeparates(submitted: string, allowed: string, counterexample: string): void {
  assert.equal(
    RE2JS.compile(submitted).test(counterexample),
    true,
    `${submitted} must accept ${JSON.stringify(counterexample)}`,
  );
  assert.equal(
    RE2JS.compile(allowed).test(counterexample),
    false,
    `${allowed} must reject ${JSON.stringify(counterexample)}`,
  );
}

function check(rows: readonly Row[]): void {
  for (const [submitted, allowed, expected] of rows) {
    const outcome: ContainmentResult = checkContainment(submitted, allowed);
    const label = `${JSON.stringify(submitted)} ⊆ ${JSON.stringify(allowed)} → ${JSON.stringify(outcome)}`;
    if (expected === 'contained') {
      assert.deepEqual(outcome, { result: 'contained' }, label);
      continue;
    }
    assert.equal(outcome.result, 'not-contained', label);
    if (outcome.result !== 'not-contained') continue;
    assertSeparates(submitted, allowed, outcome.counterexample);
    if (typeof expected === 'object') assert.equal(outcome.counterexample, expected.counterexample, label);
  }
}

test('escaped vs unescaped dots', () => {
  check([
    ['^https://github.com/org/.*$', '^https://github\\.com/org/.*$', { counterexample: 'https://githubXcom/org/' }],
    ['^https://github\\.com/org/.*$', '^https://github.com/org/.*$', 'contained'],
    ['^a.c$', '^a\\.c$', { counterexample: 'aXc' }],
    ['^a\\.c$', '^a.c$', 'contained'],
    ['^https://gitlab.com$', '^https://gitlab\\.com$', { counterexample: 'https://gitlabXcom' }],
  ]);
});

test('anchors: ^, $, \\A, \\z, (?m) and none', () => {
  check([
    ['^abc$', 'abc', 'contained'],
    ['abc', '^abc$', 'not-contained'],
    ['^abc', 'abc', 'contained'],
    ['abc$', '^abc', { counterexample: 'Xabc' }],
    ['^abc', 'abc$', { counterexample: 'abcX' }],
    ['\\Aabc\\z', '^abc$', 'contained'],
    ['^abc$', '\\Aabc\\z', 'contained'],
    ['abc', 'b', 'contained'],
    ['b', 'abc', { counterexample: 'b' }],
    // Without (?m), Go's $ is the end of the text: unlike Perl it does not match before a final newline.
    ['(?m)^abc$', '^abc$', 'not-contained'],
    ['^abc$', '(?m)^abc$', 'contained'],
    ['(?m)^abc$', '(?m)abc$', 'contained'],
    ['^abc\\n', '(?m)abc$', 'contained'],
    ['a^', '^x$', 'contained'],
    ['$x', 'y', 'contained'],
    ['^a|b$', '^a', { counterexample: 'b' }],
  ]);
  const multiline = checkContainment('(?m)^abc$', '^abc$');
  assert.ok(multiline.result === 'not-contained' && multiline.counterexample.includes('\n'));
});

test('empty strings and empty patterns on either side', () => {
  check([
    ['', '', 'contained'],
    ['', 'a', { counterexample: '' }],
    ['a', '', 'contained'],
    ['^$', '^$', 'contained'],
    ['^$', '', 'contained'],
    ['', '^$', { counterexample: 'X' }],
    ['^$', 'x', { counterexample: '' }],
    ['^a*$', '^a+$', { counterexample: '' }],
    ['[^\\x00-\\x{10FFFF}]', '^x$', 'contained'],
  ]);
});

test('alternation and repetition', () => {
  check([
    ['^(foo|bar)$', '^(foo|bar|baz)$', 'contained'],
    ['^(foo|bar|baz)$', '^(foo|bar)$', { counterexample: 'baz' }],
    ['^(?:ab|cd)+$', '^[a-d]+$', 'contained'],
    ['^[a-d]+$', '^(?:ab|cd)+$', 'not-contained'],
    ['^a{2,3}$', '^a+$', 'contained'],
    ['^a+$', '^a{2,3}$', { counterexample: 'a' }],
    ['(?U)^a+$', '^a+$', 'contained'],
    ['^a+$', '(?U)^a+$', 'contained'],
  ]);
});

test('character classes', () => {
  check([
    ['^[a-c]$', '^[a-z]$', 'contained'],
    ['^[a-z]$', '^[a-c]$', { counterexample: 'x' }],
    ['^[[:alpha:]]+$', '^[A-Za-z]+$', 'contained'],
    ['^[A-Za-z]+$', '^[[:alpha:]]+$', 'contained'],
    ['^\\w+$', '^[0-9A-Za-z_]+$', 'contained'],
    ['^[0-9A-Za-z_]+$', '^\\w+$', 'contained'],
    // Go's \s is ASCII only: [\t\n\f\r ]; no \v, no U+00A0.
    ['^\\s$', '^[\\t\\n\\f\\r ]$', 'contained'],
    ['^[\\t\\n\\f\\r ]$', '^\\s$', 'contained'],
    ['^\\x{a0}$', '\\s', { counterexample: '\u00a0' }],
    ['^[^a]$', '^.$', { counterexample: '\n' }],
    ['^(?P<repo>[a-z]+)/x$', '^[a-z]+/x$', 'contained'],
    ['^\\x{41}$', '^A$', 'contained'],
    ['^α$', '^\\p{Greek}$', 'contained'],
  ]);
});

test('(?i) uses Go simple case folding', () => {
  check([
    ['(?i)^abc$', '^[aA][bB][cC]$', 'contained'],
    ['^[aA][bB][cC]$', '(?i)^abc$', 'contained'],
    ['^abc$', '(?i)^ABC$', 'contained'],
    ['(?i)^k$', '^k$', { counterexample: 'K' }],
    ['(?i)^k$', '^[kK]$', { counterexample: '\u212a' }],
    ['(?i)^k$', '^[kK\\x{212A}]$', 'contained'],
    ['(?i)^s$', '^[sS]$', { counterexample: 'ſ' }],
    // Astral case folding (Deseret).
    ['(?i)^\\x{10400}$', '^[\\x{10400}\\x{10428}]$', 'contained'],
    ['(?i)^\\x{10400}$', '^\\x{10400}$', { counterexample: '\u{10428}' }],
  ]);
});

test('\\d vs \\pN: \\pN is wider (٣, ²)', () => {
  check([
    ['^\\d+$', '^\\pN+$', 'contained'],
    ['^\\pN$', '^\\d$', { counterexample: '²' }],
    ['^[٣]$', '^\\pN$', 'contained'],
    ['^[٣]$', '^\\d$', { counterexample: '٣' }],
  ]);
});

test('\\Q…\\E quoting', () => {
  check([
    ['^\\Qa.b\\E$', '^a\\.b$', 'contained'],
    ['^a\\.b$', '^\\Qa.b\\E$', 'contained'],
    ['^\\Qa.b\\E$', '^a.b$', 'contained'],
    ['^a.b$', '^\\Qa.b\\E$', { counterexample: 'aXb' }],
    ['\\Q^$', '\\^\\$', 'contained'],
  ]);
});

test('Unicode: astral code points are one character', () => {
  check([
    ['^😀$', '^.$', 'contained'],
    ['^..$', '^😀$', { counterexample: 'XX' }],
    ['^[😀-😂]$', '^(?:\\x{1F600}|\\x{1F601}|\\x{1F602})$', 'contained'],
    ['^.$', '^[\\x00-\\x{FFFF}]$', { counterexample: '𐀀' }],
  ]);
});

test('(?s) vs . and newline', () => {
  check([
    ['(?s)^a.b$', '^a.b$', { counterexample: 'a\nb' }],
    ['^a.b$', '(?s)^a.b$', 'contained'],
    ['^a.b$', '^a[^\\n]b$', 'contained'],
    ['^a[^\\n]b$', '^a.b$', 'contained'],
    ['(?s).', '.', { counterexample: '\n' }],
    ['.', '(?s).', 'contained'],
  ]);
});

test('word boundaries are exact, not approximated', () => {
  check([
    ['\\bfoo\\b', 'foo', 'contained'],
    ['foo', '\\bfoo\\b', 'not-contained'],
    ['^foo\\b', '^foo(?:$|[^0-9A-Za-z_])', 'contained'],
    ['^foo(?:$|[^0-9A-Za-z_])', '^foo\\b', 'contained'],
    ['\\Bfoo', '[0-9A-Za-z_]foo', 'contained'],
    ['[0-9A-Za-z_]foo', '\\Bfoo', 'contained'],
    // \b is ASCII in Go: é is not a word character.
    ['éfoo', '\\bfoo', 'contained'],
  ]);
});

test('realistic GitHub Actions identities', () => {
  const issuer = '^https://token\\.actions\\.githubusercontent\\.com$';
  const release = '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v.*$';
  check([
    [issuer, issuer, 'contained'],
    [issuer, '^https://token\\.actions\\.githubusercontent\\.com', 'contained'],
    [release, '^https://github\\.com/acme/.*$', 'contained'],
    [release, '^https://github\\.com/acme/', 'contained'],
    ['^https://github\\.com/acme/.*$', release, 'not-contained'],
    [
      '^https://github\\.com/acme-corp/.*$',
      '^https://github\\.com/acme/.*$',
      { counterexample: 'https://github.com/acme-corp/' },
    ],
    ['^https://github\\.com/acme/.*$', '^https://github\\.com/acme.*$', 'contained'],
    // [^/] also matches a newline, which `.` does not: a real hole, found.
    [
      '^https://github\\.com/acme/[^/]+/\\.github/workflows/[^/]+@refs/heads/main$',
      '^https://github\\.com/acme/.*$',
      { counterexample: 'https://github.com/acme/X/.github/workflows/\n@refs/heads/main' },
    ],
    [
      '^https://github\\.com/acme/[^/\\n]+/\\.github/workflows/[^/\\n]+@refs/heads/main$',
      '^https://github\\.com/acme/.*$',
      'contained',
    ],
  ]);
});

test('an unanchored submitted pattern is not inside an anchored policy', () => {
  const outcome = checkContainment('https://github\\.com/acme/', '^https://github\\.com/acme/');
  assert.equal(outcome.result, 'not-contained');
  assert.ok(outcome.result === 'not-contained');
  assert.ok(outcome.counterexample.endsWith('https://github.com/acme/'), outcome.counterexample);
  assert.equal(outcome.counterexample.length, 'https://github.com/acme/'.length + 1);
  assertSeparates('https://github\\.com/acme/', '^https://github\\.com/acme/', outcome.counterexample);
});

test('realistic GitLab identities', () => {
  const subject = '^https://gitlab\\.com/acme/app//\\.gitlab-ci\\.yml@refs/heads/main$';
  check([
    ['^https://gitlab\\.com$', '^https://gitlab\\.com$', 'contained'],
    [subject, '^https://gitlab\\.com/acme/.*$', 'contained'],
    [subject, '^https://gitlab\\.com/acme/app//\\.gitlab-ci\\.yml@refs/(heads|tags)/.*$', 'contained'],
    [
      '^https://gitlab\\.com/acme/app//\\.gitlab-ci\\.yml@refs/heads/.*$',
      subject,
      { counterexample: 'https://gitlab.com/acme/app//.gitlab-ci.yml@refs/heads/' },
    ],
    ['^https://gitlab\\.com/acme/app//.gitlab-ci\\.yml@refs/heads/main$', subject, 'not-contained'],
  ]);
});

test("invalid patterns are reported with the side and Go's message", () => {
  assert.deepEqual(checkContainment('^(?=x)', '.*'), {
    result: 'invalid',
    side: 'submitted',
    message: 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
  });
  assert.deepEqual(checkContainment('x', '(a)\\1'), {
    result: 'invalid',
    side: 'allowed',
    message: 'error parsing regexp: invalid escape sequence: `\\1`',
  });
  assert.deepEqual(checkContainment('(?!x)', '(?<=y)'), {
    result: 'invalid',
    side: 'submitted',
    message: 'error parsing regexp: invalid or unsupported Perl syntax: `(?!`',
  });
});

test('pre-compiled regexes are accepted and give the same answers', () => {
  const submitted = compileGoRegex('^https://github\\.com/acme/app$');
  const allowed = compileGoRegex('^https://github\\.com/acme/');
  assert.ok(submitted.ok && allowed.ok);
  assert.deepEqual(checkContainment(submitted.regex, allowed.regex), { result: 'contained' });
  assert.deepEqual(
    checkContainment(allowed.regex, submitted.regex),
    checkContainment('^https://github\\.com/acme/', '^https://github\\.com/acme/app$'),
  );
});
