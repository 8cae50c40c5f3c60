import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { checkContainment, compileGoRegex } from '../../../../src/core/identity/index.ts';
// Internal on purpose: the automaton itself is checked against the real matcher.
import { SearchAutomaton } from '../../../../src/core/identity/search-automaton.ts';

/** Atoms chosen to hit every Go-vs-JS difference and every assertion the automaton models. */
const ATOMS = [
  'a',
  'b',
  'k',
  'K',
  '(?i:k)',
  '\\x{212A}',
  '.',
  '(?s:.)',
  '\\n',
  '[ab]',
  '[^a]',
  '\\d',
  '\\pN',
  '\\w',
  '\\W',
  '\\s',
  '^',
  '$',
  '\\A',
  '\\z',
  '\\b',
  '\\B',
  '(?m:^)',
  '(?m:$)',
  '😀',
  '٣',
  '²',
  '',
];
const CHARS = ['a', 'b', 'k', 'K', '\u212a', '\n', ' ', '1', '٣', '²', '😀', '_', 'é'];

const { regex } = fc.letrec<{ regex: string; item: string }>((tie) => ({
  item: fc.oneof(
    { depthSize: 'small', maxDepth: 3, withCrossShrink: true },
    fc.constantFrom(...ATOMS),
    fc.tuple(tie('regex'), tie('regex')).map(([x, y]) => `(?:${x}|${y})`),
    fc.tuple(tie('regex'), fc.constantFrom('*', '+', '?', '{1,2}', '{2}')).map(([x, op]) => `(?:${x})${op}`),
  ),
  regex: fc.array(tie('item'), { minLength: 1, maxLength: 3 }).map((items) => items.join('')),
}));
const text = fc.array(fc.constantFrom(...CHARS), { maxLength: 7 }).map((chars) => chars.join(''));
const compiles = (pattern: string): boolean => compileGoRegex(pattern).ok;
const goMatch = (pattern: string, value: string): boolean => RE2JS.compile(pattern).test(value);

test('the search automaton accepts exactly what Go MatchString accepts', () => {
  fc.assert(
    fc.property(regex, fc.array(text, { minLength: 1, maxLength: 20 }), (pattern, samples) => {
      const compiled = compileGoRegex(pattern);
      fc.pre(compiled.ok);
      if (!compiled.ok) return;
      const automaton = new SearchAutomaton(compiled.regex.program, {
        maxStates: 100_000,
        checkBudget: () => undefined,
      });
      for (const sample of samples) {
        assert.equal(
          automaton.accepts(sample),
          goMatch(pattern, sample),
          `${JSON.stringify(pattern)} on ${JSON.stringify(sample)}`,
        );
      }
    }),
    { numRuns: 400 },
  );
});

test('contained means every sample accepted by the submitted regex is accepted by the allowed one; counterexamples separate', () => {
  let runs = 0;
  let tooComplex = 0;
  fc.assert(
    fc.property(regex, regex, fc.array(text, { minLength: 1, maxLength: 30 }), (submitted, allowed, samples) => {
      fc.pre(compiles(submitted) && compiles(allowed));
      runs += 1;
      const outcome = checkContainment(submitted, allowed, { budgetMs: 2_000 });
      switch (outcome.result) {
        case 'contained':
          for (const sample of samples) {
            if (goMatch(submitted, sample)) assert.ok(goMatch(allowed, sample), `${JSON.stringify(sample)} escapes`);
          }
          break;
        case 'not-contained':
          assert.equal(goMatch(submitted, outcome.counterexample), true);
          assert.equal(goMatch(allowed, outcome.counterexample), false);
          break;
        case 'too-complex':
          tooComplex += 1;
          break;
        case 'invalid':
          assert.fail(`both patterns compile, yet ${JSON.stringify(outcome)}`);
      }
    }),
    { numRuns: 300 },
  );
  assert.ok(tooComplex <= runs / 10, `${tooComplex} of ${runs} checks were too complex`);
});

test('a regex is always contained in a union that includes it, and in itself', () => {
  let runs = 0;
  let tooComplex = 0;
  fc.assert(
    fc.property(regex, regex, (left, right) => {
      fc.pre(compiles(left) && compiles(right));
      runs += 1;
      for (const allowed of [`(?:${left})|(?:${right})`, left]) {
        const outcome = checkContainment(left, allowed, { budgetMs: 2_000 });
        // A state explosion may leave it unproven, but it must never be refuted.
        if (outcome.result === 'too-complex') tooComplex += 1;
        else assert.deepEqual(outcome, { result: 'contained' }, `${left} ⊆ ${allowed}`);
      }
    }),
    { numRuns: 200 },
  );
  assert.ok(tooComplex <= runs / 10, `${tooComplex} of ${runs * 2} checks were too complex`);
});
