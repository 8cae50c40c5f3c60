import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGoRegex } from '../../../../src/core/identity/index.ts';
import type { GoRegex } from '../../../../src/core/identity/index.ts';

function compiled(pattern: string): GoRegex {
  const result = compileGoRegex(pattern);
  assert.ok(result.ok, `${pattern} should compile: ${result.ok ? '' : result.message}`);
  return result.regex;
}

/** The characters one single-rune program accepts, e.g. `(?i)k`. */
function onlyRuneSet(pattern: string) {
  const runes = compiled(pattern).program.insts.filter((inst) => inst.kind === 'rune');
  assert.equal(runes.length, 1, pattern);
  const [rune] = runes;
  assert.ok(rune?.kind === 'rune');
  return rune.chars;
}

test('Go-only syntax compiles and means what Go means', () => {
  const cases: readonly [pattern: string, matches: string, rejects: string][] = [
    ['\\Aabc\\z', 'abc', 'abc\n'],
    ['^\\Qa.b*\\E$', 'a.b*', 'aXb*'],
    ['(?i)^abc$', 'ABC', 'ab'],
    ['(?s)^a.b$', 'a\nb', 'ab'],
    ['(?m)^b$', 'a\nb\nc', 'ab'],
    ['(?U)^a+?$', 'aaa', 'b'],
    ['^\\pN$', '٣', 'x'],
    ['^\\p{Greek}$', 'α', 'a'],
    ['^[[:alpha:]]+$', 'abcXYZ', 'ab1'],
    ['^(?P<name>[a-z]+)$', 'abc', 'ABC'],
    ['^(?<name>[a-z]+)$', 'abc', 'ABC'],
    ['^\\x{41}\\x42$', 'AB', 'ab'],
    ['(?i)k', '\u212a', 'x'],
    ['^\\s$', '\t', '\u00a0'],
    ['^.$', '😀', '😀😀'],
  ];
  for (const [pattern, matches, rejects] of cases) {
    const regex = compiled(pattern);
    assert.equal(regex.matchString(matches), true, `${pattern} should match ${JSON.stringify(matches)}`);
    assert.equal(regex.matchString(rejects), false, `${pattern} should reject ${JSON.stringify(rejects)}`);
  }
});

test("patterns Go rejects are rejected with Go's message", () => {
  const cases: readonly [pattern: string, message: string][] = [
    ['(?=a)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`'],
    ['(?!a)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?!`'],
    ['(?<=a)b', 'error parsing regexp: invalid named capture: `(?<=a)b`'],
    ['(?<!a)b', 'error parsing regexp: invalid named capture: `(?<!a)b`'],
    ['(a)\\1', 'error parsing regexp: invalid escape sequence: `\\1`'],
    ['x{1001}', 'error parsing regexp: invalid repeat count: `{1001}`'],
    ['\\Z', 'error parsing regexp: invalid escape sequence: `\\Z`'],
    ['[a', 'error parsing regexp: missing closing ]: `[a`'],
    ['a**', 'error parsing regexp: invalid nested repetition operator: `**`'],
  ];
  for (const [pattern, message] of cases) {
    const result = compileGoRegex(pattern);
    assert.deepEqual(result, { ok: false, message }, pattern);
  }
});

test('the re2js program is read with the instruction kinds we expect (pins re2js internals)', () => {
  const kinds = (pattern: string): string[] => compiled(pattern).program.insts.map((inst) => inst.kind);
  assert.deepEqual(kinds('^a$'), ['fail', 'assert', 'rune', 'assert', 'match']);
  assert.deepEqual(kinds('(a)'), ['fail', 'goto', 'rune', 'goto', 'match']);
  assert.ok(kinds('a*').includes('split'));
  const anchors = compiled('(?m)^\\A\\b\\B\\z$').program.assertions;
  assert.equal(anchors, 63, 'all six Go empty-width ops are seen');
});

test('character sets are resolved as Go resolves them', () => {
  const kelvin = onlyRuneSet('(?i)k');
  for (const char of ['k', 'K', '\u212a']) assert.ok(kelvin.has(char.codePointAt(0)!), char);
  assert.equal(kelvin.size, 3);
  const longS = onlyRuneSet('(?i)s');
  assert.ok(longS.has(0x17f), 'ſ folds to s');
  const pairOrbit = onlyRuneSet('(?i)a');
  assert.equal(pairOrbit.size, 2);
  const digits = onlyRuneSet('\\pN');
  for (const char of ['٣', '²', '7', '𝟎']) assert.ok(digits.has(char.codePointAt(0)!), char);
  const asciiDigits = onlyRuneSet('\\d');
  assert.equal(asciiDigits.size, 10);
  const space = onlyRuneSet('\\s');
  assert.deepEqual([...space.characters()], [9, 10, 12, 13, 32]);
  const dot = onlyRuneSet('.');
  assert.equal(dot.has(0x0a), false);
  assert.equal(dot.has(0xd800), false, 'surrogates are not Go characters');
  assert.equal(dot.has(0x10ffff), true);
});

test('the empty pattern compiles and matches everything', () => {
  const empty = compiled('');
  assert.equal(empty.matchString(''), true);
  assert.equal(empty.matchString('anything'), true);
});

test('a lone surrogate is invalid UTF-8, as Go says, even though re2js would accept it', () => {
  assert.deepEqual(compileGoRegex('^😀a\ud800b$'), {
    ok: false,
    message: 'error parsing regexp: invalid UTF-8: `\ufffdb$`',
  });
  assert.deepEqual(compileGoRegex('x\udc00'), { ok: false, message: 'error parsing regexp: invalid UTF-8: `\ufffd`' });
});
