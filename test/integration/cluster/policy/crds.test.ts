// Issue #12 items 3 and 6: the generated SourcePolicy / SourcePolicyException CRDs on a real kube-apiserver.
// The apiserver accepts them as structural schemas, round-trips valid objects unchanged, refuses what the JSON
// Schema refuses (so a typo never reaches pinwarden), and serves the status subresource pinwarden writes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CRD_DIRS, KINDS, crdFileName } from '../../../../scripts/policy-crds.ts';
import { loadExceptions } from '../../../../src/core/exceptions/index.ts';
import { loadPolicy } from '../../../../src/core/policy/index.ts';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';

let cp: ControlPlane;
before(async () => {
  cp = await startControlPlane({ fluxCrds: 'none' });
  for (const kind of KINDS) await cp.kubectlOk(['apply', '--server-side', '-f', `${CRD_DIRS[0]}/${crdFileName(kind)}`]);
  for (const kind of KINDS)
    await cp.kubectlOk(['wait', '--for=condition=Established', `crd/${kind.plural}.pinwarden.dev`, '--timeout=60s']);
});
after(() => cp?.stop());

const POLICY = {
  apiVersion: 'pinwarden.dev/v1alpha1',
  kind: 'SourcePolicy',
  metadata: { name: 'platform' },
  spec: {
    priority: 10,
    mode: 'enforce',
    exemptNamespaces: ['flux-system'],
    ociRepository: {
      allowedIdentities: [
        { issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/' },
      ],
      allowedRegistries: ['oci://ghcr.io/acme/'],
      mutate: { tagToDigest: true, semverToDigest: true },
      trustedRoots: [`sha256:${'a'.repeat(64)}`],
    },
    registry: { timeoutSeconds: 2.5, allowNetworks: ['10.0.0.0/8'] },
    rules: [
      {
        name: 'cert-manager',
        description: 'Jetstack charts',
        match: {
          urls: ['oci://quay.io/jetstack'],
          namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['platform'] }] },
        },
        ociRepository: {
          allowedIdentities: [
            {
              issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
              subject: '^https://github\\.com/cert-manager/',
            },
          ],
        },
        registry: { onUnreachable: 'warn' },
      },
    ],
  },
};

const EXCEPTION = {
  apiVersion: 'pinwarden.dev/v1alpha1',
  kind: 'SourcePolicyException',
  metadata: { name: 'legacy', namespace: 'default' },
  spec: {
    reason: 'vendor chart, unsigned until Q3',
    expires: '2027-01-01T00:00:00Z',
    objects: [
      { kind: 'OCIRepository', name: 'vendor' },
      { kind: 'Bucket', selector: { matchLabels: { legacy: 'true' } } },
    ],
    ruleIds: ['verify-required', 'pinned-from-mismatch'],
    policyRules: ['default'],
  },
};

test('the chart ships the same generated CRDs as deploy/crds', () => {
  for (const kind of KINDS)
    assert.equal(
      readFileSync(`${CRD_DIRS[1]}/${crdFileName(kind)}`, 'utf8'),
      readFileSync(`${CRD_DIRS[0]}/${crdFileName(kind)}`, 'utf8'),
    );
});

test('the apiserver established both CRDs with structural schemas (no NonStructuralSchema condition)', async () => {
  for (const kind of KINDS) {
    const crd = JSON.parse(await cp.kubectlOk(['get', 'crd', `${kind.plural}.pinwarden.dev`, '-o', 'json']));
    const conditions = crd.status.conditions as Array<{ type: string; status: string }>;
    assert.ok(conditions.some((c) => c.type === 'Established' && c.status === 'True'));
    assert.ok(
      !conditions.some((c) => c.type === 'NonStructuralSchema' && c.status === 'True'),
      JSON.stringify(conditions),
    );
    assert.equal(crd.spec.scope, kind.scope);
  }
});

test('round trip: a full SourcePolicy and SourcePolicyException come back unchanged, and the loader accepts what was stored', async () => {
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(POLICY) });
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(EXCEPTION) });
  const policy = JSON.parse(await cp.kubectlOk(['get', 'sourcepolicy', 'platform', '-o', 'json']));
  assert.deepEqual(policy.spec, POLICY.spec, 'nothing pruned, nothing defaulted');
  const exception = JSON.parse(await cp.kubectlOk(['get', 'spolex', '-n', 'default', 'legacy', '-o', 'json']));
  assert.deepEqual(exception.spec, EXCEPTION.spec);
  const loaded = loadPolicy(
    JSON.stringify({ apiVersion: policy.apiVersion, kind: policy.kind, metadata: policy.metadata, spec: policy.spec }),
    'cluster',
  );
  assert.equal(loaded.spec.rules?.[0]?.name, 'cert-manager');
  assert.equal(loaded.spec.priority, 10);
  const [waiver] = loadExceptions(
    JSON.stringify({
      apiVersion: exception.apiVersion,
      kind: exception.kind,
      metadata: exception.metadata,
      spec: exception.spec,
    }),
    'cluster',
  );
  assert.equal(waiver?.spec.reason, EXCEPTION.spec.reason);
});

const refused: Array<[string, unknown, RegExp]> = [
  [
    'an unknown mode',
    { ...POLICY, metadata: { name: 'bad-mode' }, spec: { mode: 'audit' } },
    /spec\.mode: Unsupported value: "audit"/,
  ],
  [
    'an unknown field (kubectl strict field validation)',
    { ...POLICY, metadata: { name: 'bad-field' }, spec: { ociRepository: { requireVerfy: false } } },
    /unknown field "spec\.ociRepository\.requireVerfy"/,
  ],
  [
    'a duplicate trusted root (set)',
    {
      ...POLICY,
      metadata: { name: 'dup' },
      spec: { ociRepository: { trustedRoots: [`sha256:${'b'.repeat(64)}`, `sha256:${'b'.repeat(64)}`] } },
    },
    /Duplicate value/,
  ],
  [
    'timeoutSeconds 0 (exclusive minimum)',
    { ...POLICY, metadata: { name: 'zero' }, spec: { registry: { timeoutSeconds: 0 } } },
    /spec\.registry\.timeoutSeconds: Invalid value: 0/,
  ],
  [
    'a registry URL that is not oci://',
    { ...POLICY, metadata: { name: 'https' }, spec: { ociRepository: { allowedRegistries: ['https://ghcr.io'] } } },
    /spec\.ociRepository\.allowedRegistries\[0\]/,
  ],
  [
    'a priority out of range',
    { ...POLICY, metadata: { name: 'prio' }, spec: { priority: 5000 } },
    /spec\.priority: Invalid value: 5000/,
  ],
  [
    'an exception without reason',
    {
      ...EXCEPTION,
      metadata: { name: 'no-reason', namespace: 'default' },
      spec: { ...EXCEPTION.spec, reason: undefined },
    },
    /spec\.reason: Required value/,
  ],
  [
    'an exception whose expires is no time',
    { ...EXCEPTION, metadata: { name: 'never', namespace: 'default' }, spec: { ...EXCEPTION.spec, expires: 'never' } },
    /spec\.expires: Invalid value: "never"/,
  ],
  [
    'an exception with an unknown kind',
    {
      ...EXCEPTION,
      metadata: { name: 'kind', namespace: 'default' },
      spec: { ...EXCEPTION.spec, objects: [{ kind: 'GitRepository', name: 'x' }] },
    },
    /spec\.objects\[0\]\.kind: Unsupported value: "GitRepository"/,
  ],
];

for (const [name, object, message] of refused) {
  test(`the apiserver refuses ${name}`, async () => {
    const result = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(object) });
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, message);
  });
}

test('the status subresource: conditions are written through /status only, and a spec write leaves them', async () => {
  const status = {
    observedGeneration: 1,
    conditions: [
      {
        type: 'Ready',
        status: 'False',
        reason: 'InvalidPolicy',
        message: 'x',
        lastTransitionTime: '2026-01-01T00:00:00Z',
        observedGeneration: 1,
      },
    ],
  };
  await cp.kubectlOk([
    'patch',
    'sourcepolicy',
    'platform',
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
  await cp.kubectlOk([
    'patch',
    'sourcepolicy',
    'platform',
    '--type=merge',
    '-p',
    JSON.stringify({ spec: { mode: 'warn' }, status: { conditions: [] } }),
  ]);
  const stored = JSON.parse(await cp.kubectlOk(['get', 'sourcepolicy', 'platform', '-o', 'json']));
  assert.equal(stored.spec.mode, 'warn');
  assert.deepEqual(stored.status, status, 'the main resource ignores status');
  const columns = await cp.kubectlOk(['get', 'sourcepolicy', 'platform']);
  assert.match(columns, /PRIORITY\s+MODE\s+READY\s+REASON\s+AGE/);
  assert.match(columns, /platform\s+10\s+warn\s+False\s+InvalidPolicy/);
  const parsed = parse(readFileSync(`${CRD_DIRS[0]}/${crdFileName(KINDS[0]!)}`, 'utf8')) as {
    spec: { names: { shortNames: string[] } };
  };
  assert.match(await cp.kubectlOk(['get', parsed.spec.names.shortNames[0]!]), /platform/);
});
