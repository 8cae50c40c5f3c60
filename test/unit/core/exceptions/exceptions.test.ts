// SourcePolicyException: loading (schema and semantic checks) and applying with an injected clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../../src/core/errors.ts';
import { evaluate } from '../../../../src/core/evaluate.ts';
import { expiredExceptions, loadExceptions, type ExceptionSet } from '../../../../src/core/exceptions/index.ts';
import { loadPolicy } from '../../../../src/core/policy/index.ts';

const EXPIRES = '2026-06-01T00:00:00Z';
const BEFORE = new Date('2026-05-31T23:59:59Z');
const AT = new Date('2026-06-01T00:00:00Z');

function exceptionYaml(spec: string, metadata = '{name: legacy, namespace: team-a}'): string {
  return `apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicyException\nmetadata: ${metadata}\nspec:\n${spec}`;
}

const LEGACY = exceptionYaml(
  `  reason: vendor chart not signed yet, ticket OPS-123\n  expires: '${EXPIRES}'\n  objects: [{kind: OCIRepository, name: legacy-chart}]\n  ruleIds: [verify-required]\n`,
);

function oci(name: string, namespace: string, labels?: Record<string, string>): unknown {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec: { interval: '5m', url: 'oci://ghcr.io/vendor/chart', ref: { digest: `sha256:${'a'.repeat(64)}` } },
  };
}

const POLICY = loadPolicy('apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: p}\n', 'p');

function judged(object: unknown, text: string, now: Date) {
  const set: ExceptionSet = { exceptions: loadExceptions(text, 'exceptions.yaml'), now };
  return evaluate(object, POLICY, { phase: 'offline', exceptions: set });
}

test('without the exception the unsigned chart is denied', () => {
  const evaluation = evaluate(oci('legacy-chart', 'team-a'), POLICY, { phase: 'offline' });
  assert.equal(evaluation.verdict, 'deny');
  assert.deepEqual(
    evaluation.findings.map((finding) => finding.ruleId),
    ['verify-required'],
  );
});

test('an active exception waives the named rule id: reported as waived, not counted', () => {
  const evaluation = judged(oci('legacy-chart', 'team-a'), LEGACY, BEFORE);
  assert.equal(evaluation.verdict, 'allow');
  assert.deepEqual(evaluation.findings, []);
  assert.equal(evaluation.waived?.length, 1);
  assert.equal(evaluation.waived?.[0]?.ruleId, 'verify-required');
  assert.equal(evaluation.waived?.[0]?.exception, 'team-a/legacy');
  assert.match(evaluation.waived?.[0]?.reason ?? '', /OPS-123/);
});

test('at its expiry time the exception stops applying by itself, and the finding says so', () => {
  const evaluation = judged(oci('legacy-chart', 'team-a'), LEGACY, AT);
  assert.equal(evaluation.verdict, 'deny');
  assert.equal(evaluation.waived, undefined);
  assert.match(
    evaluation.findings[0]?.message ?? '',
    /\(exception team-a\/legacy expired 2026-06-01T00:00:00Z and no longer waives this\)$/,
  );
  assert.deepEqual(
    evaluation.expiredExceptions?.map((entry) => entry.exception),
    ['team-a/legacy'],
  );
});

test('expired exceptions are listed whether or not they match an object, oldest first', () => {
  const text = [
    LEGACY,
    exceptionYaml(
      `  reason: r\n  expires: '2026-01-01T00:00:00+02:00'\n  objects: [{kind: Bucket, name: b}]\n  ruleIds: [bucket-ignore-required]\n`,
      '{name: older, namespace: team-b}',
    ),
    exceptionYaml(
      `  reason: r\n  expires: '2027-01-01T00:00:00Z'\n  objects: [{kind: Bucket, name: b}]\n  ruleIds: [bucket-ignore-required]\n`,
      '{name: later, namespace: team-b}',
    ),
  ].join('---\n');
  const set = { exceptions: loadExceptions(text, 'x.yaml'), now: AT };
  assert.deepEqual(
    expiredExceptions(set).map((entry) => entry.exception),
    ['team-b/older', 'team-a/legacy'],
  );
  assert.deepEqual(
    expiredExceptions({ ...set, now: BEFORE }).map((entry) => entry.exception),
    ['team-b/older'],
  );
});

test('an exception covers only its own namespace, kind, object and rule ids', () => {
  assert.equal(judged(oci('legacy-chart', 'team-b'), LEGACY, BEFORE).verdict, 'deny', 'another namespace');
  assert.equal(judged(oci('other-chart', 'team-a'), LEGACY, BEFORE).verdict, 'deny', 'another name');
  const insecure = {
    ...(oci('legacy-chart', 'team-a') as object),
    spec: { url: 'oci://ghcr.io/vendor/chart', insecure: true, ref: { digest: `sha256:${'a'.repeat(64)}` } },
  };
  const evaluation = judged(insecure, LEGACY, BEFORE);
  assert.equal(evaluation.verdict, 'deny');
  assert.deepEqual(
    evaluation.findings.map((finding) => finding.ruleId),
    ['insecure-not-allowed'],
    'only verify-required is waived',
  );
});

test('objects named by label selector', () => {
  const text = exceptionYaml(
    `  reason: r\n  expires: '${EXPIRES}'\n  objects: [{kind: OCIRepository, selector: {matchLabels: {app.kubernetes.io/part-of: legacy}}}]\n  ruleIds: [verify-required]\n`,
  );
  assert.equal(judged(oci('any', 'team-a', { 'app.kubernetes.io/part-of': 'legacy' }), text, BEFORE).verdict, 'allow');
  assert.equal(judged(oci('any', 'team-a', { 'app.kubernetes.io/part-of': 'other' }), text, BEFORE).verdict, 'deny');
});

test('policyRules limits a waiver to objects a named policy rule decides', () => {
  const policy = loadPolicy(
    "apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: p}\nspec:\n  rules:\n    - {name: vendors, match: {urls: ['oci://ghcr.io/vendor']}}\n",
    'p',
  );
  const text = exceptionYaml(
    `  reason: r\n  expires: '${EXPIRES}'\n  objects: [{kind: OCIRepository, name: legacy-chart}]\n  ruleIds: [verify-required]\n  policyRules: [vendors]\n`,
  );
  const set = { exceptions: loadExceptions(text, 'x'), now: BEFORE };
  assert.equal(evaluate(oci('legacy-chart', 'team-a'), policy, { phase: 'offline', exceptions: set }).verdict, 'allow');
  const elsewhere = {
    ...(oci('legacy-chart', 'team-a') as object),
    spec: { url: 'oci://docker.io/x/y', ref: { digest: `sha256:${'a'.repeat(64)}` } },
  };
  const evaluation = evaluate(elsewhere, policy, { phase: 'offline', exceptions: set });
  assert.equal(evaluation.rule?.name, 'default');
  assert.equal(evaluation.verdict, 'deny');
});

function refused(text: string): string {
  try {
    loadExceptions(text, 'exceptions.yaml');
  } catch (error) {
    assert.ok(error instanceof PinwardenError);
    assert.equal(error.code, 'PW_EXCEPTION_INVALID');
    return error.message;
  }
  assert.fail('expected the exceptions to be refused');
}

const REFUSALS: Array<{ name: string; text: string; message: RegExp }> = [
  {
    name: 'no reason',
    text: exceptionYaml(
      `  expires: '${EXPIRES}'\n  objects: [{kind: OCIRepository, name: a}]\n  ruleIds: [verify-required]\n`,
    ),
    message: /spec.*must have required property 'reason'/,
  },
  {
    name: 'no expiry',
    text: exceptionYaml(`  reason: r\n  objects: [{kind: OCIRepository, name: a}]\n  ruleIds: [verify-required]\n`),
    message: /must have required property 'expires'/,
  },
  {
    name: 'an expiry that is not RFC 3339',
    text: exceptionYaml(
      `  reason: r\n  expires: next tuesday\n  objects: [{kind: OCIRepository, name: a}]\n  ruleIds: [verify-required]\n`,
    ),
    message: /spec\.expires \(line 6\): must be an RFC 3339 time such as 2026-12-31T00:00:00Z/,
  },
  {
    name: 'an impossible date',
    text: exceptionYaml(
      `  reason: r\n  expires: '2026-13-45T00:00:00Z'\n  objects: [{kind: OCIRepository, name: a}]\n  ruleIds: [verify-required]\n`,
    ),
    message: /spec\.expires: '2026-13-45T00:00:00Z' is not a valid time/,
  },
  {
    name: 'a misspelt rule id, with the closest one',
    text: exceptionYaml(
      `  reason: r\n  expires: '${EXPIRES}'\n  objects: [{kind: OCIRepository, name: a}]\n  ruleIds: [verify-requried]\n`,
    ),
    message: /spec\.ruleIds\[0\]: 'verify-requried' is not a pinwarden rule id \(did you mean verify-required\?\)/,
  },
  {
    name: 'no namespace',
    text: exceptionYaml(
      `  reason: r\n  expires: '${EXPIRES}'\n  objects: [{kind: OCIRepository, name: a}]\n  ruleIds: [verify-required]\n`,
      '{name: x}',
    ),
    message: /metadata.*namespace/,
  },
  {
    name: 'name and selector both',
    text: exceptionYaml(
      `  reason: r\n  expires: '${EXPIRES}'\n  objects: [{kind: OCIRepository, name: a, selector: {matchLabels: {a: b}}}]\n  ruleIds: [verify-required]\n`,
    ),
    message: /spec\.objects\[0\]: give exactly one of name or selector/,
  },
  {
    name: 'an empty selector',
    text: exceptionYaml(
      `  reason: r\n  expires: '${EXPIRES}'\n  objects: [{kind: OCIRepository, selector: {}}]\n  ruleIds: [verify-required]\n`,
    ),
    message: /an empty selector would waive every OCIRepository in the namespace/,
  },
  {
    name: 'a kind pinwarden does not govern',
    text: exceptionYaml(
      `  reason: r\n  expires: '${EXPIRES}'\n  objects: [{kind: GitRepository, name: a}]\n  ruleIds: [verify-required]\n`,
    ),
    message: /spec\.objects\[0\]\.kind.*must be one of OCIRepository, Bucket/,
  },
  { name: 'the same exception twice', text: `${LEGACY}---\n${LEGACY}`, message: /team-a\/legacy is defined twice/ },
  {
    name: 'another kind of document',
    text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n',
    message: /kind.*must be SourcePolicyException/,
  },
];

for (const entry of REFUSALS) {
  test(`refused: ${entry.name}`, () => {
    assert.match(refused(entry.text), entry.message);
  });
}

test('empty documents are skipped; an empty file holds no exception', () => {
  assert.deepEqual(loadExceptions('', 'x'), []);
  assert.equal(loadExceptions(`---\n${LEGACY}---\n`, 'x').length, 1);
});
