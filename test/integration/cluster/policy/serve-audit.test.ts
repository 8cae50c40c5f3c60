// Issue #12 items 3, 4 and 6 end to end: the real `pinwarden serve --policy-source=cluster --audit-interval 2s`
// behind a real kube-apiserver. The webhook answers from the SourcePolicy object; an invalid change keeps the
// last good policy (status condition + Event) and never opens the gate; a SourcePolicyException in the cluster
// waives a finding in /validate until it expires; the audit reports what was there before pinwarden and a key
// Secret swapped after admission, as wgpolicyk8s.io/v1alpha2 PolicyReports the apiserver validates, and changes
// nothing it audits.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CRD_DIRS, KINDS, crdFileName } from '../../../../scripts/policy-crds.ts';
import { startRegistry } from '../../../helpers/registry.ts';
import type { TestRegistry } from '../../../helpers/registry.ts';
import { pushImage } from '../../../helpers/push-image.ts';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import { registerWebhooks, startPinwarden, waitForWebhooks } from '../../../support/pinwarden.ts';
import type { Pinwarden } from '../../../support/pinwarden.ts';
import { loopbackPolicy, ociRepositoryObject } from '../../../support/policies.ts';

const REPORT_CRD = new URL('../../../fixtures/crds/wgpolicyk8s.io_policyreports.yaml', import.meta.url).pathname;
const pem = (): string =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const TRUSTED = pem();
const TENANT = pem();

let cp: ControlPlane;
let registry: TestRegistry;
let pw: Pinwarden;
let digest = '';
let legacyVersion = '';

function policyObject(): Record<string, unknown> {
  const text = loopbackPolicy(registry.host).replace(
    '    allowKeyBased: false\n',
    `    trustedKeys: ${JSON.stringify([TRUSTED])}\n`,
  );
  return parse(text) as Record<string, unknown>;
}

async function namespace(name: string): Promise<void> {
  await cp.kubectlOk(['create', 'namespace', name]);
  await cp.kubectlOk([
    'create',
    'secret',
    'generic',
    'registry-ca',
    '-n',
    name,
    `--from-literal=ca.crt=${registry.tls!.caPem}`,
  ]);
}

function repo(
  ns: string,
  name: string,
  verify?: Record<string, unknown> | null,
  ref: Record<string, string> = { tag: '1.0.0' },
): Record<string, unknown> {
  return ociRepositoryObject({
    name,
    namespace: ns,
    url: `oci://${registry.host}/acme/app`,
    ref,
    ...(verify !== undefined ? { verify } : {}),
    extraSpec: { certSecretRef: { name: 'registry-ca' } },
  });
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface Report {
  summary: Record<string, number>;
  results: Array<{ policy: string; rule: string; result: string; message: string; resources: Array<{ name: string }> }>;
}

async function report(ns: string): Promise<Report | undefined> {
  const got = await cp.kubectl(['get', 'policyreports.wgpolicyk8s.io', '-n', ns, 'pinwarden-sources', '-o', 'json']);
  return got.code === 0 ? (JSON.parse(got.stdout) as Report) : undefined;
}

before(async () => {
  [cp, registry] = await Promise.all([startControlPlane(), startRegistry({ mode: 'tls' })]);
  digest = await pushImage({ host: registry.host, path: 'acme/app', tls: { ca: registry.tls!.caPem } }, '1.0.0');
  for (const kind of KINDS) await cp.kubectlOk(['apply', '--server-side', '-f', `${CRD_DIRS[0]}/${crdFileName(kind)}`]);
  await cp.kubectlOk(['apply', '--server-side', '-f', REPORT_CRD]);
  for (const crd of [...KINDS.map((kind) => `${kind.plural}.pinwarden.dev`), 'policyreports.wgpolicyk8s.io'])
    await cp.kubectlOk(['wait', '--for=condition=Established', `crd/${crd}`, '--timeout=60s']);
  // Created before pinwarden: unsigned, unpinned. Nothing judged it.
  await namespace('legacy');
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(repo('legacy', 'old', null)) });
  legacyVersion = JSON.parse(await cp.kubectlOk(['get', 'ocirepository', '-n', 'legacy', 'old', '-o', 'json'])).metadata
    .resourceVersion;
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(policyObject()) });
  pw = await startPinwarden({
    kubeconfig: cp.adminKubeconfig,
    extraArgs: ['--policy-source', 'cluster', '--audit-interval', '2s'],
  });
  await registerWebhooks(cp, pw);
  await waitForWebhooks(cp, pw);
});
after(async () => {
  await pw?.stop();
  await registry?.stop();
  await cp?.stop();
});

test('serve answers from the SourcePolicy object: an allowed identity is pinned, another is denied by rule default', async () => {
  await namespace('apps');
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(repo('apps', 'good')) });
  const stored = JSON.parse(await cp.kubectlOk(['get', 'ocirepository', '-n', 'apps', 'good', '-o', 'json']));
  assert.equal(stored.spec.ref.digest, digest);
  const evil = await cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify(
      repo('apps', 'evil', {
        provider: 'cosign',
        matchOIDCIdentity: [
          { issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/evil/' },
        ],
      }),
    ),
  });
  assert.equal(evil.code, 1);
  assert.match(
    evil.stderr,
    /pinwarden denied OCIRepository\/apps\/evil \(rule default\):[\s\S]*\[identity-not-allowed\]/,
  );
  assert.ok(
    pw.logs().some((line) => line.includes('"config":"(SourcePolicy objects)"')),
    'started on the cluster source',
  );
});

test('an invalid SourcePolicy change keeps the last good policy (status + Event) and never opens the gate', async () => {
  const broken = policyObject();
  const spec = broken.spec as { ociRepository: Record<string, unknown> };
  spec.ociRepository.allowedIdentities = [{ issuer: '.*', subject: '.*' }];
  spec.ociRepository.trustedKeys = [];
  spec.ociRepository.allowKeyBased = true;
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(broken) });
  const condition = await eventually('InvalidPolicy in status', async () => {
    const object = JSON.parse(await cp.kubectlOk(['get', 'sourcepolicy', 'cluster-test', '-o', 'json']));
    const ready = (object.status?.conditions ?? []).find((entry: { type: string }) => entry.type === 'Ready');
    return ready?.reason === 'InvalidPolicy' ? ready : undefined;
  });
  assert.equal(condition.status, 'False');
  assert.match(condition.message, /allowKeyBased: true needs spec\.ociRepository\.trustedKeys/);
  const evil = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], {
    input: JSON.stringify(
      repo('apps', 'evil', {
        provider: 'cosign',
        matchOIDCIdentity: [
          { issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/evil/' },
        ],
      }),
    ),
  });
  assert.equal(evil.code, 1, 'still denied: the last good policy is in force');
  const events = JSON.parse(
    await cp.kubectlOk([
      'get',
      'events',
      '-n',
      'default',
      '--field-selector',
      'involvedObject.name=cluster-test',
      '-o',
      'json',
    ]),
  ).items as Array<{ reason: string; type: string }>;
  assert.ok(
    events.some((event) => event.reason === 'InvalidPolicy' && event.type === 'Warning'),
    JSON.stringify(events),
  );
  assert.match(await pw.metrics(), /pinwarden_reloads_total\{what="policy",outcome="error"\} [1-9]/);
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(policyObject()) });
  await eventually('Accepted again', async () => {
    const object = JSON.parse(await cp.kubectlOk(['get', 'sourcepolicy', 'cluster-test', '-o', 'json']));
    return (object.status?.conditions ?? []).some(
      (entry: { type: string; reason: string }) => entry.type === 'Ready' && entry.reason === 'Accepted',
    )
      ? true
      : undefined;
  });
});

test('a SourcePolicyException in the cluster waives its rule in /validate (with a warning) until it expires', async () => {
  await namespace('exc');
  const expires = new Date(Date.now() + 20_000).toISOString().replace(/\.\d+Z$/, 'Z');
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'pinwarden.dev/v1alpha1',
      kind: 'SourcePolicyException',
      metadata: { name: 'unsigned-vendor', namespace: 'exc' },
      spec: {
        reason: 'vendor chart not signed yet (OPS-7)',
        expires,
        objects: [{ kind: 'OCIRepository', name: 'vendor' }],
        ruleIds: ['verify-required'],
      },
    }),
  });
  const unsigned = JSON.stringify(repo('exc', 'vendor', null));
  const admitted = await eventually(
    'the exception in force',
    async () => {
      const result = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: unsigned });
      return result.code === 0 ? result : undefined;
    },
    15_000,
  );
  assert.match(
    admitted.stderr,
    new RegExp(`Warning: waived until ${expires} by SourcePolicyException exc/unsigned-vendor \\[verify-required\\]`),
  );
  const other = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], {
    input: JSON.stringify(repo('exc', 'not-named', null)),
  });
  assert.equal(other.code, 1, 'an object the exception does not name is still denied');
  const denied = await eventually(
    'the exception to lapse',
    async () => {
      const result = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: unsigned });
      return result.code === 1 ? result : undefined;
    },
    45_000,
  );
  assert.match(
    denied.stderr,
    /\[verify-required\][^\n]*\(exception exc\/unsigned-vendor expired [^)]* and no longer waives this\)/,
  );
  await eventually(
    'Expired in status',
    async () => {
      const object = JSON.parse(
        await cp.kubectlOk(['get', 'sourcepolicyexception', '-n', 'exc', 'unsigned-vendor', '-o', 'json']),
      );
      return (object.status?.conditions ?? []).some(
        (entry: { type: string; reason: string }) => entry.type === 'Ready' && entry.reason === 'Expired',
      )
        ? true
        : undefined;
    },
    15_000,
  );
});

test('the audit reports what was there before pinwarden, in a PolicyReport the apiserver stored, and changes nothing', async () => {
  const legacy = await eventually('the legacy report', async () => {
    const found = await report('legacy');
    return found?.results.some((result) => result.rule === 'verify-required') ? found : undefined;
  });
  const rules = legacy.results
    .filter((result) => result.resources[0]?.name === 'old')
    .map((result) => `${result.rule}:${result.result}`)
    .sort();
  assert.deepEqual(rules, ['digest-required:fail', 'verify-required:fail']);
  assert.equal(legacy.summary.fail, 2);
  assert.equal(legacy.results[0]!.policy, 'pinwarden/default');
  const table = await cp.kubectlOk(['get', 'polr', '-n', 'legacy']);
  assert.match(table, /pinwarden-sources\s+0\s+2\s+0\s+0\s+0/);
  const still = JSON.parse(await cp.kubectlOk(['get', 'ocirepository', '-n', 'legacy', 'old', '-o', 'json']));
  assert.equal(still.metadata.resourceVersion, legacyVersion, 'the audited object was not touched');
  assert.equal(still.spec.ref.digest, undefined);
  const metrics = await pw.metrics();
  assert.match(metrics, /pinwarden_audit_passes_total\{outcome="ok"\} [1-9]/);
  assert.match(metrics, /pinwarden_audit_results\{result="fail"\} [1-9]/);
});

test('a key Secret swapped after admission is reported by the audit (key-not-trusted), while the object stays as admitted', async () => {
  await namespace('keys');
  await cp.kubectlOk([
    'create',
    'secret',
    'generic',
    'cosign-pub',
    '-n',
    'keys',
    `--from-literal=cosign.pub=${TRUSTED}`,
  ]);
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify(repo('keys', 'keyed', { provider: 'cosign', secretRef: { name: 'cosign-pub' } })),
  });
  const admitted = JSON.parse(await cp.kubectlOk(['get', 'ocirepository', '-n', 'keys', 'keyed', '-o', 'json']));
  assert.equal(admitted.spec.ref.digest, digest);
  await eventually('a pass for the keyed object', async () => {
    const found = await report('keys');
    return found?.results.some((result) => result.resources[0]?.name === 'keyed' && result.result === 'pass')
      ? true
      : undefined;
  });
  await cp
    .kubectlOk(
      [
        'create',
        'secret',
        'generic',
        'cosign-pub',
        '-n',
        'keys',
        `--from-literal=cosign.pub=${TENANT}`,
        '--dry-run=client',
        '-o',
        'yaml',
      ],
      {},
    )
    .then((yaml) => cp.kubectlOk(['apply', '-f', '-'], { input: yaml }));
  const swapped = await eventually(
    'key-not-trusted in the report',
    async () => {
      const found = await report('keys');
      return found?.results.find((result) => result.resources[0]?.name === 'keyed' && result.rule === 'key-not-trusted')
        ? found
        : undefined;
    },
    90_000,
  );
  const finding = swapped.results.find((result) => result.rule === 'key-not-trusted')!;
  assert.equal(finding.result, 'fail');
  assert.match(finding.message, /trustedKeys/);
  const after_ = JSON.parse(await cp.kubectlOk(['get', 'ocirepository', '-n', 'keys', 'keyed', '-o', 'json']));
  assert.equal(after_.metadata.resourceVersion, admitted.metadata.resourceVersion, 'reported, not changed');
});

test('Kubernetes validates the reports against the PolicyReport CRD: a result outside the enum is refused', async () => {
  const bad = {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    kind: 'PolicyReport',
    metadata: { name: 'bad', namespace: 'legacy' },
    results: [{ policy: 'x', result: 'maybe' }],
  };
  const result = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(bad) });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /results\[0\]\.result: Unsupported value: "maybe"/);
  assert.ok(readFileSync(REPORT_CRD, 'utf8').includes('wgpolicyk8s.io'));
});
