import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, ruleTester } from '../helpers/rule-tester.ts';
import { WALL_CEILING_FACTOR, budgetClock } from '../../src/core/identity/index.ts';

const policy = `ociRepository:
  allowedIdentities:
    - {issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/'}
    - {issuer: '^https://gitlab\\.com$', subject: '^https://gitlab\\.com/acme/app//\\.gitlab-ci\\.yml@refs/heads/main$'}`;
const keyless = (issuer: string, subject: string) =>
  `spec: {verify: {provider: cosign, matchOIDCIdentity: [{issuer: ${JSON.stringify(issuer)}, subject: ${JSON.stringify(subject)}}]}}`;
const GITHUB = '^https://token\\.actions\\.githubusercontent\\.com$';

ruleTester('identity-not-allowed', {
  valid: [
    { name: 'exactly the allowed identity', yaml: keyless(GITHUB, '^https://github\\.com/acme/'), policy },
    {
      name: 'a narrower subject',
      yaml: keyless(GITHUB, '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v.*$'),
      policy,
    },
    {
      name: 'the second allowed identity',
      yaml: keyless('^https://gitlab\\.com$', '^https://gitlab\\.com/acme/app//\\.gitlab-ci\\.yml@refs/heads/main$'),
      policy,
    },
    {
      name: 'key-based verification ignores identities',
      yaml: 'spec: {verify: {provider: cosign, secretRef: {name: k}, matchOIDCIdentity: [{issuer: x, subject: y}]}}',
      policy,
    },
    { name: 'invalid regexes are the other rule', yaml: keyless('^(?=x)', '^a$'), policy },
  ],
  invalid: [
    {
      name: 'unescaped dots in the issuer',
      yaml: keyless('^https://token.actions.githubusercontent.com$', '^https://github\\.com/acme/x$'),
      policy,
      paths: ['spec.verify.matchOIDCIdentity[0].issuer'],
      messageIncludes: ['accepts', 'which'],
    },
    {
      name: 'unanchored issuer',
      yaml: keyless('https://token\\.actions\\.githubusercontent\\.com', '^https://github\\.com/acme/x$'),
      policy,
      paths: ['spec.verify.matchOIDCIdentity[0].issuer'],
    },
    {
      name: 'another organisation',
      yaml: keyless(GITHUB, '^https://github\\.com/evil/'),
      policy,
      paths: ['spec.verify.matchOIDCIdentity[0].subject'],
    },
    {
      name: 'sibling organisation by prefix',
      yaml: keyless(GITHUB, '^https://github\\.com/acme'),
      policy,
      paths: ['spec.verify.matchOIDCIdentity[0].subject'],
    },
    {
      name: 'empty subject means anything',
      yaml: keyless(GITHUB, ''),
      policy,
      paths: ['spec.verify.matchOIDCIdentity[0].subject'],
    },
    {
      name: 'mixing issuer of one identity and subject of the other',
      yaml: keyless('^https://gitlab\\.com$', '^https://github\\.com/acme/'),
      policy,
      paths: ['spec.verify.matchOIDCIdentity[0].issuer'],
    },
    {
      name: 'no identity allowed by default',
      yaml: keyless(GITHUB, '^https://github\\.com/acme/$'),
      paths: ['spec.verify.matchOIDCIdentity[0]'],
      messageIncludes: ['no keyless identity'],
    },
  ],
});

test('every entry is checked on its own (entries are OR-ed by Flux)', () => {
  const yaml = `spec: {verify: {matchOIDCIdentity: [{issuer: '${GITHUB}', subject: '^https://github\\.com/acme/'}, {issuer: '${GITHUB}', subject: '.*'}]}}`;
  const paths = findingsOf('identity-not-allowed', { name: 'two', yaml, policy }).map((finding) => finding.path);
  assert.deepEqual(paths, ['spec.verify.matchOIDCIdentity[1].subject']);
});

test('the denial shows a counterexample the submitted regex accepts', () => {
  const [finding] = findingsOf('identity-not-allowed', {
    name: 'dot',
    yaml: keyless(GITHUB, '^https://github.com/acme/.*$'),
    policy,
  });
  assert.ok(finding);
  const match = / accepts ("(?:[^"\\]|\\.)*"),? which/.exec(finding.message);
  assert.ok(match?.[1], finding.message);
  const example = JSON.parse(match[1]) as string;
  assert.ok(!example.startsWith('https://github.com/'), `the counterexample exploits the unescaped dot: ${example}`);
});

ruleTester('identity-regex-invalid', {
  valid: [
    {
      name: 'Go-only syntax is valid',
      yaml: keyless(
        '\\Ahttps://token\\.actions\\.githubusercontent\\.com\\z',
        '(?i)^https://github\\.com/acme/[[:alnum:]]+$',
      ),
    },
    { name: 'empty patterns compile', yaml: keyless('', '') },
  ],
  invalid: [
    {
      name: 'lookahead',
      yaml: keyless('^(?=https)', '^a$'),
      paths: ['spec.verify.matchOIDCIdentity[0].issuer'],
      messageIncludes: ['invalid or unsupported Perl syntax'],
    },
    {
      name: 'backreference',
      yaml: keyless('^a$', '^(a)\\1$'),
      paths: ['spec.verify.matchOIDCIdentity[0].subject'],
      messageIncludes: ['invalid escape sequence'],
    },
    {
      name: 'unbalanced bracket',
      yaml: keyless('[', ']('),
      paths: ['spec.verify.matchOIDCIdentity[0].issuer', 'spec.verify.matchOIDCIdentity[0].subject'],
    },
    {
      name: 'repeat count over 1000',
      yaml: keyless('^a{1001}$', '^b$'),
      paths: ['spec.verify.matchOIDCIdentity[0].issuer'],
    },
    {
      name: 'not a string',
      yaml: 'spec: {verify: {matchOIDCIdentity: [{issuer: 42}]}}',
      paths: ['spec.verify.matchOIDCIdentity[0].issuer', 'spec.verify.matchOIDCIdentity[0].subject'],
      messageIncludes: ['must be a string'],
    },
  ],
});

ruleTester('identity-too-complex', {
  valid: [
    { name: 'a realistic pattern', yaml: keyless(GITHUB, '^https://github\\.com/acme/app/'), policy },
    {
      name: 'a blow-up pattern behind an allowed prefix is still provably inside',
      yaml: keyless(GITHUB, '^https://github\\.com/acme/(a|b)*a(a|b){30}'),
      policy,
    },
  ],
  invalid: [],
});

test('identity-too-complex reports the exponential-DFA subject', () => {
  const paths = findingsOf('identity-too-complex', {
    name: 'blow-up',
    yaml: keyless(GITHUB, '(a|b)*a(a|b){30}'),
    policy,
  }).map((finding) => finding.path);
  assert.deepEqual(
    paths,
    ['spec.verify.matchOIDCIdentity[0].subject'],
    'only the subject: the anchored issuer is provably fine',
  );
});

test('many adversarial entries in one object stay inside the object bound', () => {
  const entries = Array.from(
    { length: 12 },
    (_, index) => `{issuer: '(a|b)*a(a|b){${20 + index}}', subject: '(c|d)*c(c|d){30}'}`,
  ).join(', ');
  // The bound is CPU time (900 ms per object), with wall time capped at 3× it for a starved thread; both are
  // asserted with slack so a loaded CI machine does not fail the test, while no bound is loosened.
  const started = performance.now();
  const cpuStarted = budgetClock();
  const findings = findingsOf('identity-too-complex', {
    name: 'many',
    yaml: `spec: {verify: {matchOIDCIdentity: [${entries}]}}`,
    policy,
  });
  const cpu = budgetClock() - cpuStarted;
  const wall = performance.now() - started;
  assert.ok(cpu < 1500, `bounded per object: ${Math.round(cpu)} ms of CPU`);
  assert.ok(wall < 900 * WALL_CEILING_FACTOR + 1000, `bounded per object: ${Math.round(wall)} ms of wall time`);
  assert.ok(findings.length >= 12);
});

test('the adversarial pattern is decided within one second', () => {
  const started = performance.now();
  const cpuStarted = budgetClock();
  findingsOf('identity-too-complex', { name: 'blow-up', yaml: keyless(GITHUB, '(a|b)*a(a|b){30}'), policy });
  assert.ok(budgetClock() - cpuStarted < 1000, 'CPU time');
  assert.ok(performance.now() - started < 250 * WALL_CEILING_FACTOR + 1000, 'wall time');
});

ruleTester('identity-multiple-entries', {
  valid: [
    { name: 'one entry', yaml: keyless(GITHUB, '^https://github\\.com/acme/') },
    {
      name: 'key-based',
      yaml: 'spec: {verify: {secretRef: {name: k}, matchOIDCIdentity: [{issuer: a, subject: b}, {issuer: c, subject: d}]}}',
    },
  ],
  invalid: [
    {
      name: 'two entries',
      yaml: `spec: {verify: {matchOIDCIdentity: [{issuer: a, subject: b}, {issuer: c, subject: d}]}}`,
      paths: ['spec.verify.matchOIDCIdentity'],
      severity: 'warning',
      messageIncludes: ['v3'],
    },
  ],
});
