// Issue #12 item 3: several SourcePolicy objects combine deterministically; a change is taken only when the
// result is valid, so an invalid change keeps the last good policy and never opens the gate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from '../../../../src/core/evaluate.ts';
import { defaultPolicy } from '../../../../src/core/policy/index.ts';
import {
  combinePolicies,
  EMPTY_POLICY_SET,
  MAX_POLICIES,
  reconcilePolicies,
} from '../../../../src/core/policy-set/index.ts';
import type { PolicySetMemory } from '../../../../src/core/policy-set/index.ts';

const GITHUB = '^https://token\\.actions\\.githubusercontent\\.com$';

function sp(name: string, spec: Record<string, unknown>, generation = 1): Record<string, unknown> {
  return {
    apiVersion: 'pinwarden.dev/v1alpha1',
    kind: 'SourcePolicy',
    metadata: { name, generation, uid: `uid-${name}`, resourceVersion: '7', managedFields: [{ manager: 'kubectl' }] },
    spec,
    status: { conditions: [] },
  };
}

function repo(url: string, namespace = 'apps', subject = '^https://github\\.com/acme/'): unknown {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'app', namespace },
    spec: {
      interval: '5m',
      url,
      ref: { digest: `sha256:${'a'.repeat(64)}` },
      verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer: GITHUB, subject }] },
    },
  };
}

const PLATFORM = sp('platform', {
  priority: 100,
  mode: 'enforce',
  exemptNamespaces: ['flux-system'],
  ociRepository: { allowedIdentities: [{ issuer: GITHUB, subject: '^https://github\\.com/acme/' }] },
  rules: [
    {
      name: 'flux',
      match: { urls: ['oci://ghcr.io/fluxcd'] },
      ociRepository: { allowedIdentities: [{ issuer: GITHUB, subject: '^https://github\\.com/fluxcd/' }] },
    },
  ],
});
const TEAM = sp('team-a', {
  mode: 'warn',
  exemptNamespaces: ['team-a'],
  rules: [
    {
      name: 'cert-manager',
      match: { urls: ['oci://quay.io/jetstack'] },
      ociRepository: { allowedIdentities: [{ issuer: GITHUB, subject: '^https://github\\.com/cert-manager/' }] },
    },
  ],
});
const FALLBACK = defaultPolicy();

const judge = (policy: ReturnType<typeof defaultPolicy>, object: unknown) =>
  evaluate(object, policy, { phase: 'admission' });

test('two policies: priority first, the first supplies mode/exemptions/default rule, the rules of both are tried in order', () => {
  const result = reconcilePolicies([TEAM, PLATFORM], EMPTY_POLICY_SET, FALLBACK);
  assert.equal(result.changed, true);
  const policy = result.effective;
  assert.equal(policy.metadata.name, 'platform+team-a');
  assert.equal(policy.spec.mode, 'enforce', 'mode from the first (priority 100), not team-a');
  assert.deepEqual(policy.spec.exemptNamespaces, ['flux-system']);
  assert.deepEqual(
    policy.spec.rules?.map((rule) => rule.name),
    ['flux', 'cert-manager'],
  );
  const certManager = judge(
    policy,
    repo('oci://quay.io/jetstack/charts/cert-manager', 'apps', '^https://github\\.com/cert-manager/'),
  );
  assert.equal(certManager.verdict, 'allow');
  assert.deepEqual(certManager.rule, { name: 'cert-manager', source: 'SourcePolicy/team-a spec.rules[0]' });
  const denied = judge(
    policy,
    repo('oci://quay.io/jetstack/charts/cert-manager', 'apps', '^https://github\\.com/acme/'),
  );
  assert.equal(denied.verdict, 'deny');
  assert.ok(
    denied.findings.some((finding) =>
      finding.fix.includes('SourcePolicy/team-a spec.rules[0].ociRepository.allowedIdentities'),
    ),
    JSON.stringify(denied.findings),
  );
  assert.equal(judge(policy, repo('oci://ghcr.io/acme/app')).rule?.name, 'default');
  assert.deepEqual(
    result.reports.map((report) => [report.name, report.condition.status, report.condition.reason]),
    [
      ['platform', 'True', 'Accepted'],
      ['team-a', 'True', 'Accepted'],
    ],
  );
  assert.match(
    result.reports[1]!.condition.message,
    /2 of 2: its spec\.rules are tried after those of SourcePolicy\/platform; spec\.exemptNamespaces, spec\.mode not used/,
  );
});

test('deterministic: the same objects in any order give the same policy; equal priority orders by name', () => {
  const b = sp('b', { rules: [{ name: 'rb', match: { namespaces: ['x'] } }] });
  const a = sp('a', { rules: [{ name: 'ra', match: { namespaces: ['x'] } }] });
  const one = reconcilePolicies([b, a, TEAM], EMPTY_POLICY_SET, FALLBACK).effective;
  const two = reconcilePolicies([TEAM, a, b], EMPTY_POLICY_SET, FALLBACK).effective;
  assert.deepEqual(one, two);
  assert.deepEqual(
    one.spec.rules?.map((rule) => rule.name),
    ['ra', 'rb', 'cert-manager'],
  );
});

test('nothing changed: the same policy object is handed out again (caches keyed on it stay warm)', () => {
  const first = reconcilePolicies([PLATFORM, TEAM], EMPTY_POLICY_SET, FALLBACK);
  const again = reconcilePolicies(
    [TEAM, { ...PLATFORM, metadata: { ...(PLATFORM.metadata as object), resourceVersion: '9' }, status: { x: 1 } }],
    first.memory,
    FALLBACK,
  );
  assert.equal(again.changed, false);
  assert.equal(again.effective, first.effective);
});

test('an invalid change keeps the last good version, says why in the status, and never opens the gate', () => {
  const first = reconcilePolicies([PLATFORM, TEAM], EMPTY_POLICY_SET, FALLBACK);
  const broken = sp(
    'platform',
    {
      ...(PLATFORM.spec as object),
      mode: 'audit',
      ociRepository: { allowedIdentities: [{ issuer: '.*', subject: '.*' }] },
    },
    2,
  );
  const second = reconcilePolicies([broken, TEAM], first.memory, FALLBACK);
  assert.equal(second.changed, false);
  assert.equal(second.effective, first.effective);
  const report = second.reports.find((entry) => entry.name === 'platform')!;
  assert.deepEqual(
    [report.condition.status, report.condition.reason, report.generation],
    ['False', 'InvalidPolicy', 2],
  );
  assert.match(
    report.condition.message,
    /spec\.mode.*must be one of enforce, warn.*; the version of generation 1 stays in force/,
  );
  assert.equal(
    judge(second.effective, repo('oci://ghcr.io/acme/app', 'apps', '^https://github\\.com/evil/')).verdict,
    'deny',
  );
  // Fixed again: taken.
  const fixed = reconcilePolicies(
    [sp('platform', { ...(PLATFORM.spec as object), mode: 'warn' }, 3), TEAM],
    second.memory,
    FALLBACK,
  );
  assert.equal(fixed.changed, true);
  assert.equal(fixed.effective.spec.mode, 'warn');
  assert.equal(fixed.reports[0]!.condition.reason, 'Accepted');
});

test('an invalid identity regex (RE2) is refused by the same loader as the file', () => {
  const result = reconcilePolicies(
    [sp('bad', { ociRepository: { allowedIdentities: [{ issuer: GITHUB, subject: '(?=x)' }] } })],
    EMPTY_POLICY_SET,
    FALLBACK,
  );
  assert.equal(result.effective, FALLBACK, 'nothing accepted: the built-in secure defaults');
  assert.equal(result.reports[0]!.condition.reason, 'InvalidPolicy');
  assert.match(
    result.reports[0]!.condition.message,
    /^SourcePolicy\/bad: invalid policy: spec\.ociRepository\.allowedIdentities\[0\]\.subject: .*; this policy is not in force$/,
  );
});

test('a change that makes the combination invalid is refused: duplicate rule names across objects', () => {
  const first = reconcilePolicies([PLATFORM, TEAM], EMPTY_POLICY_SET, FALLBACK);
  const clash = sp('team-b', { rules: [{ name: 'flux', match: { namespaces: ['team-b'] } }] });
  const second = reconcilePolicies([PLATFORM, TEAM, clash], first.memory, FALLBACK);
  assert.equal(second.changed, false);
  assert.equal(second.effective, first.effective);
  const report = second.reports.find((entry) => entry.name === 'team-b')!;
  assert.equal(report.condition.reason, 'CombinationInvalid');
  assert.match(
    report.condition.message,
    /SourcePolicy\/team-b spec\.rules\[0\]: rule name 'flux' is already used by SourcePolicy\/platform spec\.rules\[0\].*; this policy is not in force/,
  );
});

test('a catch-all rule may only close the combined list: before another policy it is refused, last it is fine', () => {
  const catchAll = (name: string, priority: number) =>
    sp(name, { priority, rules: [{ name: `${name}-all`, ociRepository: { requireVerify: false } }] });
  const refused = reconcilePolicies([PLATFORM, TEAM, catchAll('loose', 50)], EMPTY_POLICY_SET, FALLBACK);
  const report = refused.reports.find((entry) => entry.name === 'loose')!;
  assert.equal(report.condition.reason, 'CombinationInvalid');
  assert.match(
    report.condition.message,
    /'loose-all' has no match, so it decides every object and SourcePolicy\/team-a spec\.rules\[0\] 'cert-manager' and later could never decide/,
  );
  assert.equal(
    judge(refused.effective, {
      ...(repo('oci://ghcr.io/x/y') as object),
      spec: { interval: '5m', url: 'oci://ghcr.io/x/y', ref: { digest: `sha256:${'a'.repeat(64)}` } },
    }).verdict,
    'deny',
    'the refused catch-all did not loosen anything',
  );
  const last = reconcilePolicies([PLATFORM, TEAM, catchAll('zz-last', -5)], EMPTY_POLICY_SET, FALLBACK);
  assert.ok(last.reports.every((entry) => entry.condition.status === 'True'));
  assert.equal(last.effective.spec.rules?.at(-1)?.name, 'zz-last-all');
});

test('deleting an object removes its rules; deleting all falls back to the built-in secure defaults', () => {
  const first = reconcilePolicies([PLATFORM, TEAM], EMPTY_POLICY_SET, FALLBACK);
  const second = reconcilePolicies([PLATFORM], first.memory, FALLBACK);
  assert.equal(second.changed, true);
  assert.deepEqual(
    second.effective.spec.rules?.map((rule) => rule.name),
    ['flux'],
  );
  const third = reconcilePolicies([], second.memory, FALLBACK);
  assert.equal(third.effective, FALLBACK);
  assert.equal(third.changed, true);
  assert.equal(reconcilePolicies([], third.memory, FALLBACK).changed, false);
});

test('the first policy changing its priority changes which one supplies the defaults', () => {
  const first = reconcilePolicies([PLATFORM, TEAM], EMPTY_POLICY_SET, FALLBACK);
  const promoted = sp('team-a', { ...(TEAM.spec as object), priority: 500 }, 2);
  const second = reconcilePolicies([PLATFORM, promoted], first.memory, FALLBACK);
  assert.equal(second.effective.spec.mode, 'warn');
  assert.equal(second.effective.metadata.name, 'team-a+platform');
});

test('bounded: at most MAX_POLICIES objects are combined; the rest are refused with a reason', () => {
  const many = Array.from({ length: MAX_POLICIES + 2 }, (_, index) =>
    sp(`p${String(index).padStart(3, '0')}`, { rules: [{ name: `r${index}`, match: { namespaces: ['x'] } }] }),
  );
  const result = reconcilePolicies(many, EMPTY_POLICY_SET, FALLBACK);
  assert.equal(result.effective.spec.rules?.length, MAX_POLICIES);
  assert.equal(result.reports.filter((report) => report.condition.reason === 'CombinationInvalid').length, 2);
});

test('combinePolicies alone: one policy without rules is itself (rules stay absent)', () => {
  const memory: PolicySetMemory = reconcilePolicies([sp('solo', { mode: 'warn' })], EMPTY_POLICY_SET, FALLBACK).memory;
  assert.equal(memory.effective?.spec.rules, undefined);
  assert.equal(memory.effective?.spec.mode, 'warn');
  assert.deepEqual(combinePolicies([]), { ok: false, problem: 'no SourcePolicy to combine', conflicts: [] });
});

test('a status message is bounded even when the loader lists many problems', () => {
  const identities = Array.from({ length: 200 }, () => ({ issuer: GITHUB, subject: '(?=x)' }));
  const result = reconcilePolicies(
    [sp('noisy', { ociRepository: { allowedIdentities: identities } })],
    EMPTY_POLICY_SET,
    FALLBACK,
  );
  assert.ok(result.reports[0]!.condition.message.length <= 1000);
});

test('what is in force stays: a conflict is blamed on the change, whichever object the conflict names', () => {
  const loose = sp('loose', { priority: 50, rules: [{ name: 'loose-all', ociRepository: { requireVerify: false } }] });
  // loose is in force first (nothing after it); then team-a arrives with rules that would follow the catch-all.
  const first = reconcilePolicies([PLATFORM, loose], EMPTY_POLICY_SET, FALLBACK);
  assert.ok(first.reports.every((entry) => entry.condition.reason === 'Accepted'));
  const second = reconcilePolicies([PLATFORM, loose, TEAM], first.memory, FALLBACK);
  assert.equal(second.changed, false);
  assert.deepEqual(
    second.reports.map((entry) => [entry.name, entry.condition.reason]),
    [
      ['loose', 'Accepted'],
      ['platform', 'Accepted'],
      ['team-a', 'CombinationInvalid'],
    ],
  );
  // An update of an object in force that conflicts keeps its previous version.
  const renamed = sp('team-a', { rules: [{ name: 'flux', match: { namespaces: ['a'] } }] }, 2);
  const base = reconcilePolicies([PLATFORM, TEAM], EMPTY_POLICY_SET, FALLBACK);
  const third = reconcilePolicies([PLATFORM, renamed], base.memory, FALLBACK);
  assert.equal(third.effective, base.effective);
  assert.match(
    third.reports[1]!.condition.message,
    /already used by SourcePolicy\/platform.*the version of generation 1 stays in force/,
  );
});
