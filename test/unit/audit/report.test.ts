// Issue #12 item 4: evaluations become one wgpolicyk8s.io/v1alpha2 PolicyReport per namespace, with a stable
// mapping (fail/warn/skip/pass/error), bounded messages and results, and a fingerprint without timestamps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReports, LEFT_OUT_ANNOTATION, MAX_RESULTS, reportFingerprint } from '../../../src/audit/index.ts';
import type { AuditedObject } from '../../../src/audit/index.ts';
import { PinwardenError } from '../../../src/core/errors.ts';
import { evaluate } from '../../../src/core/evaluate.ts';
import { loadExceptions } from '../../../src/core/exceptions/index.ts';
import { loadPolicy } from '../../../src/core/policy/index.ts';

const POLICY = loadPolicy(
  `apiVersion: pinwarden.dev/v1alpha1
kind: SourcePolicy
metadata: {name: p}
spec:
  exemptNamespaces: [flux-system]
  ociRepository:
    allowedIdentities: [{issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/'}]
  rules:
    - name: vendor
      match: {urls: ['oci://ghcr.io/vendor']}
      ociRepository: {requireVerify: false}
`,
  'p',
);
const NOW = new Date('2026-12-03T07:00:00.500Z');
const DIGEST = `sha256:${'a'.repeat(64)}`;

function oci(namespace: string, name: string, spec: Record<string, unknown>): unknown {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: { interval: '5m', ...spec },
  };
}

function audited(object: unknown, options: Parameters<typeof evaluate>[2] = { phase: 'admission' }): AuditedObject {
  const meta = (object as { metadata: { name: string; namespace: string; uid: string } }).metadata;
  return {
    object: {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      namespace: meta.namespace,
      name: meta.name,
      uid: meta.uid,
    },
    evaluation: evaluate(object, POLICY, options),
  };
}

const signed = {
  provider: 'cosign',
  matchOIDCIdentity: [
    { issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/app/' },
  ],
};

test('one report per namespace; pass, fail and warn mapped with the deciding rule as the policy', () => {
  const reports = buildReports(
    [
      audited(oci('apps', 'good', { url: 'oci://ghcr.io/acme/app', ref: { digest: DIGEST }, verify: signed })),
      audited(oci('apps', 'unsigned', { url: 'oci://ghcr.io/acme/app', ref: { tag: '1.0.0' } })),
      audited(oci('vendor', 'chart', { url: 'oci://ghcr.io/vendor/chart', ref: { digest: DIGEST } })),
    ],
    NOW,
  );
  assert.deepEqual([...reports.keys()], ['apps', 'vendor']);
  const apps = reports.get('apps')!;
  assert.equal(apps.apiVersion, 'wgpolicyk8s.io/v1alpha2');
  assert.equal(apps.metadata.name, 'pinwarden-sources');
  assert.deepEqual(apps.metadata.labels, { 'app.kubernetes.io/managed-by': 'pinwarden' });
  assert.deepEqual(apps.summary, { pass: 1, fail: 2, warn: 0, error: 0, skip: 0 });
  assert.deepEqual(
    apps.results.map((result) => [
      result.resources[0]!.name,
      result.policy,
      result.rule,
      result.result,
      result.severity,
    ]),
    [
      ['unsigned', 'pinwarden/default', 'digest-required', 'fail', 'high'],
      ['unsigned', 'pinwarden/default', 'verify-required', 'fail', 'high'],
      ['good', 'pinwarden/default', 'all', 'pass', undefined],
    ],
  );
  assert.deepEqual(apps.results[0]!.timestamp, { seconds: Math.floor(NOW.getTime() / 1000), nanos: 0 });
  assert.deepEqual(apps.results[0]!.resources, [
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      namespace: 'apps',
      name: 'unsigned',
      uid: 'uid-unsigned',
    },
  ]);
  assert.match(apps.results[0]!.properties!.fix!, /spec\.ref\.digest/);
  assert.equal(reports.get('vendor')!.results[0]!.policy, 'pinwarden/vendor');
  assert.equal(reports.get('vendor')!.results[0]!.properties!.decidedBy, 'spec.rules[0]');
});

test('waived findings are skip (naming the exception), exempt namespaces skip, failures to judge are error; kinds not governed are left out', () => {
  const [exception] = loadExceptions(
    `apiVersion: pinwarden.dev/v1alpha1
kind: SourcePolicyException
metadata: {name: legacy, namespace: apps}
spec: {reason: OPS-1, expires: '2027-01-01T00:00:00Z', objects: [{kind: OCIRepository, name: legacy}], ruleIds: [verify-required]}
`,
    'x',
  );
  const reports = buildReports(
    [
      audited(oci('apps', 'legacy', { url: 'oci://ghcr.io/acme/app', ref: { digest: DIGEST } }), {
        phase: 'admission',
        exceptions: { exceptions: [exception!], now: NOW },
      }),
      audited(oci('flux-system', 'flux', { url: 'oci://ghcr.io/fluxcd/x' })),
      {
        object: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'OCIRepository', namespace: 'apps', name: 'broken' },
        error: new PinwardenError('PW_KUBE_API', 'Secret apps/cosign-pub: forbidden'),
      },
      {
        object: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'other', name: 'x' },
        evaluation: evaluate(
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'other' } },
          POLICY,
          { phase: 'admission' },
        ),
      },
    ],
    NOW,
  );
  assert.deepEqual([...reports.keys()], ['apps', 'flux-system']);
  const apps = reports.get('apps')!;
  assert.deepEqual(
    apps.results.map((result) => [result.resources[0]!.name, result.rule, result.result]),
    [
      ['broken', 'evaluation', 'error'],
      ['legacy', 'verify-required', 'skip'],
    ],
  );
  assert.match(apps.results[0]!.message, /could not be judged: Secret apps\/cosign-pub: forbidden \[PW_KUBE_API\]/);
  assert.match(
    apps.results[1]!.message,
    /^waived by SourcePolicyException apps\/legacy until 2027-01-01T00:00:00Z \(OPS-1\): /,
  );
  assert.deepEqual(
    reports.get('flux-system')!.results.map((result) => [result.rule, result.result]),
    [['exempt-namespace', 'skip']],
  );
});

test('bounded: at most MAX_RESULTS results per report (failures first), the rest counted in an annotation; long messages cut', () => {
  const many = Array.from({ length: MAX_RESULTS + 10 }, (_, index) =>
    audited(
      oci('big', `o${String(index).padStart(5, '0')}`, {
        url: 'oci://ghcr.io/acme/app',
        ref: { digest: DIGEST },
        verify: signed,
      }),
    ),
  );
  many.push(audited(oci('big', 'zz-bad', { url: `oci://ghcr.io/acme/${'x'.repeat(1500)}`, ref: { tag: '1' } })));
  const report = buildReports(many, NOW).get('big')!;
  assert.equal(report.results.length, MAX_RESULTS);
  assert.equal(report.results[0]!.result, 'fail', 'failures come first even past the cap');
  assert.ok(report.results.every((result) => result.message.length <= 512));
  assert.equal(report.summary.pass, MAX_RESULTS + 10);
  assert.equal(
    report.metadata.annotations?.[LEFT_OUT_ANNOTATION],
    String(report.summary.pass + report.summary.fail - MAX_RESULTS),
  );
});

test('the fingerprint ignores timestamps and changes with the results', () => {
  const one = buildReports([audited(oci('apps', 'a', { url: 'oci://ghcr.io/acme/app' }))], NOW).get('apps')!;
  const later = buildReports(
    [audited(oci('apps', 'a', { url: 'oci://ghcr.io/acme/app' }))],
    new Date(NOW.getTime() + 60_000),
  ).get('apps')!;
  const fixed = buildReports(
    [audited(oci('apps', 'a', { url: 'oci://ghcr.io/acme/app', ref: { digest: DIGEST }, verify: signed }))],
    NOW,
  ).get('apps')!;
  assert.equal(reportFingerprint(one), reportFingerprint(later));
  assert.notEqual(reportFingerprint(one), reportFingerprint(fixed));
});
