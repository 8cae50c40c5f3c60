import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetClock, checkIdentity, describeFieldProblem } from '../../../../src/core/identity/index.ts';
import type { IdentityRegexes } from '../../../../src/core/identity/index.ts';

const GITHUB_ISSUER = '^https://token\\.actions\\.githubusercontent\\.com$';
const GITLAB_ISSUER = '^https://gitlab\\.com$';
const GITHUB_ACME: IdentityRegexes = { issuer: GITHUB_ISSUER, subject: '^https://github\\.com/acme/.*$' };
const GITLAB_ACME: IdentityRegexes = { issuer: GITLAB_ISSUER, subject: '^https://gitlab\\.com/acme/.*$' };
const POLICY = [GITHUB_ACME, GITLAB_ACME];

test('an entry inside one allowed identity is allowed, naming which', () => {
  const rows: readonly [entry: IdentityRegexes, index: number][] = [
    [
      {
        issuer: GITHUB_ISSUER,
        subject: '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v.*$',
      },
      0,
    ],
    [{ issuer: GITLAB_ISSUER, subject: '^https://gitlab\\.com/acme/app//\\.gitlab-ci\\.yml@refs/heads/main$' }, 1],
    [
      {
        issuer: '\\Ahttps://gitlab\\.com\\z',
        subject: '^https://gitlab\\.com/acme/(app|lib)//\\.gitlab-ci\\.yml@refs/heads/main$',
      },
      1,
    ],
  ];
  // A frozen budget clock: this test is about the decision, not the bound (asserted in limits tests), so a
  // loaded machine cannot turn "allowed" into "too complex".
  const frozen = { now: () => 0 };
  for (const [entry, index] of rows)
    assert.deepEqual(checkIdentity(entry, POLICY, frozen), { allowed: true, allowedIndex: index });
});

test("the default budget clock is this thread's CPU time: time spent waiting (other processes running) is not charged", () => {
  const before = budgetClock();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120);
  const charged = budgetClock() - before;
  assert.ok(charged < 60, `a 120 ms wait charged ${charged} ms`);
  const spinStart = budgetClock();
  const wallStart = performance.now();
  while (budgetClock() - spinStart < 30 && performance.now() - wallStart < 10_000) {
    // busy: this thread's CPU time must advance
  }
  assert.ok(budgetClock() - spinStart >= 30, 'busy work is charged');
});

test('a field outside every allowed identity is denied with a counterexample no identity accepts', () => {
  const verdict = checkIdentity({ issuer: GITHUB_ISSUER, subject: '^https://github.com/acme/.*$' }, POLICY);
  assert.equal(verdict.allowed, false);
  assert.ok(!verdict.allowed);
  assert.equal(verdict.reason, 'not-contained');
  assert.deepEqual(verdict.problems, [
    {
      field: 'subject',
      pattern: '^https://github.com/acme/.*$',
      kind: 'not-contained',
      counterexample: 'https://githubXcom/acme/',
      rejectedBy: 'all',
    },
  ]);
  const [problem] = verdict.problems;
  assert.ok(problem);
  assert.equal(
    describeFieldProblem(problem),
    'subject "^https://github.com/acme/.*$" accepts "https://githubXcom/acme/" which no allowed identity accepts',
  );
});

test('issuer from one identity and subject from another is denied (no single identity covers both)', () => {
  const verdict = checkIdentity({ issuer: GITHUB_ISSUER, subject: '^https://gitlab\\.com/acme/app$' }, POLICY);
  assert.ok(!verdict.allowed);
  assert.equal(verdict.reason, 'not-contained');
  assert.equal(verdict.problems.length, 1, JSON.stringify(verdict));
  const [problem] = verdict.problems;
  assert.ok(problem?.kind === 'not-contained');
  assert.equal(typeof problem.rejectedBy, 'number');
  assert.match(describeFieldProblem(problem), /which allowed identity #[01] does not accept$/);
});

test('with one allowed identity every failing field is reported', () => {
  const verdict = checkIdentity({ issuer: 'githubusercontent', subject: 'acme' }, [GITHUB_ACME]);
  assert.ok(!verdict.allowed);
  assert.deepEqual(
    verdict.problems.map((problem) => [
      problem.field,
      problem.kind,
      problem.kind === 'not-contained' && problem.rejectedBy,
    ]),
    [
      ['issuer', 'not-contained', 'all'],
      ['subject', 'not-contained', 'all'],
    ],
  );
});

test('invalid, empty-policy and too-complex outcomes are data', () => {
  const invalid = checkIdentity({ issuer: '(?=x)', subject: '(a)\\1' }, POLICY);
  assert.ok(!invalid.allowed);
  assert.equal(invalid.reason, 'invalid');
  assert.deepEqual(
    invalid.problems.map((problem) => describeFieldProblem(problem)),
    [
      'issuer "(?=x)" is not a valid Go regexp: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
      'subject "(a)\\1" is not a valid Go regexp: error parsing regexp: invalid escape sequence: `\\1`',
    ],
  );

  assert.deepEqual(checkIdentity(GITHUB_ACME, []), { allowed: false, reason: 'no-allowed-identities', problems: [] });

  const complex = checkIdentity({ issuer: GITHUB_ISSUER, subject: '(a|b)*a(a|b){30}' }, [
    { issuer: GITHUB_ISSUER, subject: '(a|b)*a(a|b){30}' },
  ]);
  assert.ok(!complex.allowed);
  assert.equal(complex.reason, 'too-complex');
  assert.equal(complex.problems[0]?.kind, 'too-complex');
});

test('an allowed identity that does not compile is skipped, the others still count', () => {
  const policy = [{ issuer: '(?=x)', subject: '.*' }, GITHUB_ACME];
  const entry = { issuer: GITHUB_ISSUER, subject: '^https://github\\.com/acme/app$' };
  assert.deepEqual(checkIdentity(entry, policy), { allowed: true, allowedIndex: 1 });
  const onlyBroken = checkIdentity(entry, [policy[0]!]);
  assert.ok(!onlyBroken.allowed);
  assert.equal(onlyBroken.reason, 'invalid');
  assert.equal(onlyBroken.problems[0]?.kind === 'invalid' && onlyBroken.problems[0].source, 0);
});

test('when time runs out on one field, only that field is blamed (a tight budget makes this deterministic)', () => {
  let clock = 0;
  // Every clock read advances 1 ms: 400 "ms" is plenty for the issuer (a whole simple entry takes ~480 reads)
  // and always runs out inside the blow-up subject, whatever the machine's load.
  const now = () => (clock += 1);
  const check = checkIdentity({ issuer: GITHUB_ISSUER, subject: '(a|b)*a(a|b){30}' }, POLICY, { budgetMs: 400, now });
  assert.equal(check.allowed, false);
  assert.ok(!check.allowed && check.reason === 'too-complex');
  assert.deepEqual(
    check.problems.map((problem) => [problem.field, problem.kind]),
    [['subject', 'too-complex']],
  );
});
