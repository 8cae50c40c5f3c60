// Rule selection tables: which spec.rules entry decides an object, and that the effective policy carries its settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from '../../../../src/core/evaluate.ts';
import { planIntent } from '../../../../src/core/mutation/index.ts';
import { loadPolicy, type SourcePolicy } from '../../../../src/core/policy/index.ts';
import { selectRule, selectorMatches, type ScopeFacts } from '../../../../src/core/scope/index.ts';

const HEADER = 'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: p}\n';

const POLICY = loadPolicy(
  `${HEADER}spec:
  rules:
    - name: own-apps
      match: {urls: ['oci://ghcr.io/acme/'], namespaces: [apps, apps-staging]}
      ociRepository:
        allowedIdentities: [{issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/'}]
    - name: cert-manager
      match: {urls: ['oci://quay.io/jetstack/charts/cert-manager']}
      ociRepository: {requireVerify: false, mutate: {semverToDigest: true}}
    - name: tenants
      match: {namespaceSelector: {matchLabels: {pinwarden.dev/tenant: 'true'}}}
      ociRepository: {pinning: follow}
      registry: {timeoutSeconds: 5}
    - name: labelled
      match: {selector: {matchExpressions: [{key: team, operator: In, values: [blue, green]}]}}
      ociRepository: {allowInsecure: true}
  ociRepository: {requireDigest: false}
`,
  'rules.yaml',
);

function oci(url: string | undefined, namespace: string | undefined, labels?: Record<string, string>): unknown {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'x', ...(namespace !== undefined ? { namespace } : {}), ...(labels ? { labels } : {}) },
    spec: { interval: '5m', ...(url !== undefined ? { url } : {}), ref: { tag: 'v1' } },
  };
}

function bucket(namespace: string, labels?: Record<string, string>): unknown {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'Bucket',
    metadata: { name: 'b', namespace, ...(labels ? { labels } : {}) },
    spec: { bucketName: 'b', endpoint: 'minio:9000' },
  };
}

const TENANT: ScopeFacts = { namespaceLabels: { 'pinwarden.dev/tenant': 'true' } };
const PLAIN: ScopeFacts = { namespaceLabels: {} };

const CASES: Array<{
  name: string;
  object: unknown;
  facts?: ScopeFacts;
  rule: string;
  source: string;
  unjudged?: string[];
}> = [
  {
    name: 'url and namespace fit: first rule',
    object: oci('oci://ghcr.io/acme/app', 'apps'),
    facts: PLAIN,
    rule: 'own-apps',
    source: 'spec.rules[0]',
  },
  {
    name: 'url prefix without trailing slash in the object',
    object: oci('oci://GHCR.io/acme/app/', 'apps-staging'),
    facts: PLAIN,
    rule: 'own-apps',
    source: 'spec.rules[0]',
  },
  {
    name: 'path boundary: acmex is not acme',
    object: oci('oci://ghcr.io/acmex/app', 'apps'),
    facts: PLAIN,
    rule: 'default',
    source: 'spec',
  },
  {
    name: 'url fits, namespace does not (AND)',
    object: oci('oci://ghcr.io/acme/app', 'other'),
    facts: PLAIN,
    rule: 'default',
    source: 'spec',
  },
  {
    name: 'any url of the list (OR)',
    object: oci('oci://quay.io/jetstack/charts/cert-manager', 'cert-manager'),
    facts: PLAIN,
    rule: 'cert-manager',
    source: 'spec.rules[1]',
  },
  {
    name: 'the repository itself, not a sibling',
    object: oci('oci://quay.io/jetstack/charts/cert-manager-csi', 'x'),
    facts: PLAIN,
    rule: 'default',
    source: 'spec',
  },
  {
    name: 'first match wins over a later fitting rule',
    object: oci('oci://quay.io/jetstack/charts/cert-manager', 'team-a'),
    facts: TENANT,
    rule: 'cert-manager',
    source: 'spec.rules[1]',
  },
  {
    name: 'namespace labels select',
    object: oci('oci://docker.io/x/y', 'team-a'),
    facts: TENANT,
    rule: 'tenants',
    source: 'spec.rules[2]',
  },
  {
    name: 'the built-in metadata.name label is always there',
    object: oci('oci://docker.io/x/y', 'team-a'),
    facts: { namespaceLabels: { 'pinwarden.dev/tenant': 'false' } },
    rule: 'default',
    source: 'spec',
  },
  {
    name: 'object labels select (In)',
    object: oci('oci://docker.io/x/y', 'n', { team: 'green' }),
    facts: PLAIN,
    rule: 'labelled',
    source: 'spec.rules[3]',
  },
  {
    name: 'object label value outside In',
    object: oci('oci://docker.io/x/y', 'n', { team: 'red' }),
    facts: PLAIN,
    rule: 'default',
    source: 'spec',
  },
  {
    name: 'unknown namespace labels: passed over and reported',
    object: oci('oci://docker.io/x/y', 'n', { team: 'blue' }),
    rule: 'labelled',
    source: 'spec.rules[3]',
    unjudged: ['tenants'],
  },
  {
    name: 'unknown labels do not matter when another part of the match fails',
    object: oci('oci://ghcr.io/acme/app', 'apps'),
    rule: 'own-apps',
    source: 'spec.rules[0]',
  },
  {
    name: 'no namespace: a namespaces match never fits, a namespaceSelector cannot be judged',
    object: oci('oci://ghcr.io/acme/app', undefined),
    facts: PLAIN,
    rule: 'default',
    source: 'spec',
    unjudged: ['tenants'],
  },
  {
    name: 'no url: a urls match never fits',
    object: oci(undefined, 'apps'),
    facts: PLAIN,
    rule: 'default',
    source: 'spec',
  },
  { name: 'a Bucket never fits a urls match', object: bucket('apps'), facts: PLAIN, rule: 'default', source: 'spec' },
  {
    name: 'a Bucket fits a namespace-label rule',
    object: bucket('team-a'),
    facts: TENANT,
    rule: 'tenants',
    source: 'spec.rules[2]',
  },
];

for (const entry of CASES) {
  test(`selectRule: ${entry.name}`, () => {
    const selected = selectRule(entry.object, POLICY, entry.facts);
    assert.equal(selected.rule.name, entry.rule);
    assert.equal(selected.rule.source, entry.source);
    assert.deepEqual(selected.unjudged, entry.unjudged ?? []);
  });
}

test('the effective policy carries the deciding rule settings, registry fields merged over spec.registry', () => {
  const tenants = selectRule(oci('oci://docker.io/x/y', 'team-a'), POLICY, TENANT).policy;
  assert.equal(tenants.spec.ociRepository.pinning, 'follow');
  assert.equal(
    tenants.spec.ociRepository.requireDigest,
    true,
    'a rule does not inherit spec.ociRepository: secure defaults',
  );
  assert.equal(tenants.spec.registry.timeoutSeconds, 5);
  assert.equal(tenants.spec.registry.cacheTTLSeconds, 60);
  const fallback = selectRule(oci('oci://docker.io/x/y', 'n'), POLICY, PLAIN).policy;
  assert.equal(fallback.spec.ociRepository.requireDigest, false, 'the flat block is the default rule');
  assert.equal(fallback.spec.registry.timeoutSeconds, 2);
});

test('selection is idempotent on its own output and stable per rule (caches keyed on the policy stay warm)', () => {
  const object = oci('oci://ghcr.io/acme/app', 'apps');
  const first = selectRule(object, POLICY, PLAIN);
  const again = selectRule(oci('oci://ghcr.io/acme/other', 'apps'), POLICY, PLAIN);
  assert.equal(first.policy, again.policy);
  const reselected = selectRule(oci('oci://docker.io/elsewhere/x', 'kube-system'), first.policy);
  assert.equal(reselected.rule.name, 'own-apps', 'an effective policy is not selected again');
  assert.equal(reselected.policy, first.policy);
});

test('a policy without rules: every object is decided by the flat blocks, named default', () => {
  const flat = loadPolicy(`${HEADER}spec: {ociRepository: {requireVerify: false}}\n`, 'flat');
  const selected = selectRule(oci('oci://ghcr.io/acme/app', 'apps'), flat);
  assert.deepEqual(selected.rule, { name: 'default', source: 'spec' });
  assert.equal(selected.policy.spec.ociRepository, flat.spec.ociRepository);
});

test('a closing rule without match decides what no earlier rule fits', () => {
  const policy = loadPolicy(
    `${HEADER}spec:\n  rules:\n    - {name: strict, match: {namespaces: [prod]}}\n    - {name: rest, ociRepository: {requireVerify: false}}\n`,
    'p',
  );
  const selected = selectRule(oci('oci://docker.io/x/y', 'dev'), policy);
  assert.deepEqual(selected.rule, { name: 'rest', source: 'spec.rules[1]' });
  assert.equal(selected.policy.spec.ociRepository.requireVerify, false);
});

test('evaluate names the deciding rule and applies its requirements', () => {
  const own = evaluate(oci('oci://ghcr.io/acme/app', 'apps'), POLICY, { phase: 'offline', scope: PLAIN });
  assert.equal(own.rule?.name, 'own-apps');
  assert.ok(own.findings.some((finding) => finding.ruleId === 'verify-required'));
  const chart = evaluate(oci('oci://quay.io/jetstack/charts/cert-manager', 'cert-manager'), POLICY, {
    phase: 'offline',
    scope: PLAIN,
  });
  assert.equal(chart.rule?.name, 'cert-manager');
  assert.ok(
    !chart.findings.some((finding) => finding.ruleId === 'verify-required'),
    'cert-manager rule does not require verify',
  );
  const insecure = {
    ...(oci('oci://docker.io/x/y', 'n', { team: 'blue' }) as object),
    spec: { url: 'oci://docker.io/x/y', insecure: true, ref: { digest: `sha256:${'a'.repeat(64)}` } },
  };
  assert.ok(
    !evaluate(insecure, POLICY, { phase: 'offline', scope: PLAIN }).findings.some(
      (finding) => finding.ruleId === 'insecure-not-allowed',
    ),
  );
  assert.ok(
    evaluate({ ...insecure, metadata: { name: 'x', namespace: 'n' } }, POLICY, {
      phase: 'offline',
      scope: PLAIN,
    }).findings.some((finding) => finding.ruleId === 'insecure-not-allowed'),
  );
});

test('an unjudged namespaceSelector rule: a warning offline, a denial at admission, never silence', () => {
  const object = oci('oci://docker.io/x/y', 'team-a');
  const offline = evaluate(object, POLICY, { phase: 'offline' });
  const note = offline.findings.find((finding) => finding.ruleId === 'policy-rule-unjudged');
  assert.equal(note?.severity, 'warning');
  assert.match(
    note?.message ?? '',
    /labels of namespace team-a are unknown here, so rule 'tenants' \(namespaceSelector\) could not be judged and rule default/,
  );
  assert.match(note?.fix ?? '', /Namespace manifest of team-a/);
  const admission = evaluate(object, POLICY, { phase: 'admission' });
  assert.equal(admission.verdict, 'deny');
  assert.equal(admission.findings.find((finding) => finding.ruleId === 'policy-rule-unjudged')?.severity, 'error');
  const known = evaluate(object, POLICY, { phase: 'admission', scope: TENANT });
  assert.ok(!known.findings.some((finding) => finding.ruleId === 'policy-rule-unjudged'));
  assert.equal(known.rule?.name, 'tenants');
});

test('exempt namespaces are checked before any rule', () => {
  const policy: SourcePolicy = { ...POLICY, spec: { ...POLICY.spec, exemptNamespaces: ['apps'] } };
  const evaluation = evaluate(oci('oci://ghcr.io/acme/app', 'apps'), policy, { phase: 'offline' });
  assert.equal(evaluation.exempt, true);
  assert.equal(evaluation.rule, undefined);
});

test('the mutation planner takes pinning settings from the deciding rule', () => {
  const policy = loadPolicy(
    `${HEADER}spec:\n  rules:\n    - {name: no-pin, match: {namespaces: [legacy]}, ociRepository: {mutate: {tagToDigest: false}}}\n    - {name: semver, match: {namespaces: [charts]}, ociRepository: {mutate: {semverToDigest: true}}}\n`,
    'p',
  );
  assert.deepEqual(planIntent(oci('oci://ghcr.io/a/b', 'legacy'), undefined, policy), {
    action: 'none',
    reason: 'tag-to-digest-off',
  });
  assert.equal(planIntent(oci('oci://ghcr.io/a/b', 'other'), undefined, policy).action, 'resolve');
  const semver = {
    ...(oci('oci://ghcr.io/a/b', 'charts') as object),
    spec: { url: 'oci://ghcr.io/a/b', ref: { semver: '1.x' } },
  };
  assert.equal(planIntent(semver, undefined, policy).action, 'resolve');
  assert.deepEqual(planIntent({ ...semver, metadata: { name: 'x', namespace: 'other' } }, undefined, policy), {
    action: 'none',
    reason: 'semver-to-digest-off',
  });
});

const SELECTORS: Array<{
  name: string;
  selector: Parameters<typeof selectorMatches>[0];
  labels: Record<string, string>;
  fits: boolean;
}> = [
  { name: 'empty selector fits everything', selector: {}, labels: {}, fits: true },
  { name: 'matchLabels equal', selector: { matchLabels: { a: '1' } }, labels: { a: '1', b: '2' }, fits: true },
  { name: 'matchLabels differ', selector: { matchLabels: { a: '1' } }, labels: { a: '2' }, fits: false },
  {
    name: 'NotIn fits an absent key',
    selector: { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] },
    labels: {},
    fits: true,
  },
  {
    name: 'NotIn refuses a listed value',
    selector: { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] },
    labels: { a: '1' },
    fits: false,
  },
  { name: 'Exists', selector: { matchExpressions: [{ key: 'a', operator: 'Exists' }] }, labels: { a: '' }, fits: true },
  {
    name: 'DoesNotExist',
    selector: { matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] },
    labels: { a: 'x' },
    fits: false,
  },
  {
    name: 'prototype keys are not labels',
    selector: { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] },
    labels: {},
    fits: false,
  },
];

for (const entry of SELECTORS) {
  test(`label selector: ${entry.name}`, () => {
    assert.equal(selectorMatches(entry.selector, entry.labels), entry.fits);
  });
}

test('selection work is bounded per object: a huge URL is normalised once, whatever the number of rules', () => {
  const rules = Array.from({ length: 256 }, (_, index) => ({
    name: `r${index}`,
    match: { urls: [`oci://ghcr.io/team-${index}/`] },
  }));
  const policy = loadPolicy(
    JSON.stringify({
      apiVersion: 'pinwarden.dev/v1alpha1',
      kind: 'SourcePolicy',
      metadata: { name: 'p' },
      spec: { rules },
    }),
    'p',
  );
  const huge = `oci://ghcr.io/team-7/${'a/'.repeat(1_500_000)}`;
  const started = performance.now();
  const selected = selectRule(oci(huge, 'apps'), policy, PLAIN);
  const elapsed = performance.now() - started;
  assert.equal(selected.rule.name, 'r7');
  assert.ok(elapsed < 2000, `${elapsed} ms`);
  assert.equal(selectRule(oci('oci://ghcr.io/team-7/app', 'apps'), policy, PLAIN).rule.name, 'r7');
});
