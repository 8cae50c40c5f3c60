// The chart on a real kube-apiserver WITHOUT Flux: its own CRDs (crds.install) and the controller option, and
// what happens when the webhook is down: the validating webhook fails closed, the release namespace stays
// writable, and the recovery command NOTES.txt prints unblocks the cluster; `helm upgrade` puts the webhooks back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../../support/control-plane.ts';
import { freePort } from '../../helpers/registry.ts';
import { APISERVER_CIDR, CHART_DIR, helm, withValues, type Run } from './helm.ts';

const NS = 'pinwarden-system';
const RELEASE = 'guard';
const FULL = 'guard-pinwarden';
const CRDS = ['ocirepositories.source.toolkit.fluxcd.io', 'buckets.source.toolkit.fluxcd.io', 'kustomizations.kustomize.toolkit.fluxcd.io'];

let cp: ControlPlane;
let deadPort = 0;
let notes = '';

before(async () => {
  cp = await startControlPlane({ fluxCrds: 'none' });
  deadPort = await freePort(); // nothing listens there: the webhook is "down"
  await cp.kubectlOk(['create', 'namespace', 'apps']);
}, { timeout: 10 * 60_000 });
after(() => cp?.stop());

function release(command: 'install' | 'upgrade'): Promise<Run> {
  const values = {
    crds: { install: true },
    controller: { enabled: true, workers: 2, labelSelector: 'shard=a', storage: { maxSizeMiB: 256, sizeLimit: '512Mi' }, kustomization: { noCrossNamespaceRefs: true, defaultServiceAccount: 'tenant' } },
    audit: { enabled: true },
    leaderElection: { leaseDuration: 20 },
    networkPolicy: { webhook: { apiserverCIDRs: [APISERVER_CIDR] } },
    webhooks: { url: `https://127.0.0.1:${deadPort}` },
  };
  return withValues(values, (flags) =>
    helm([command, RELEASE, CHART_DIR, '-n', NS, ...(command === 'install' ? ['--create-namespace'] : []), '--kubeconfig', cp.adminKubeconfig, '--timeout', '2m', ...flags], { timeoutMs: 180_000 }));
}

const repo = (name: string, namespace: string, apiVersion = 'source.toolkit.fluxcd.io/v1'): string => JSON.stringify({
  apiVersion, kind: 'OCIRepository', metadata: { name, namespace },
  spec: { interval: '5m', url: 'oci://ghcr.io/acme/app', ref: { digest: `sha256:${'c'.repeat(64)}` } },
});

test('no Flux: the chart installs its CRDs, which the apiserver establishes and serves in v1 and v1beta2', async () => {
  for (const crd of CRDS) assert.notEqual((await cp.kubectl(['get', 'crd', crd])).code, 0, `${crd} exists before the install`);
  const result = await release('install');
  assert.equal(result.code, 0, result.stderr);
  notes = result.stdout;
  for (const crd of CRDS) await cp.kubectlOk(['wait', '--for=condition=Established', `crd/${crd}`, '--timeout=60s']);
  // A schema error is caught by the CRD's structural schema (url is required).
  const invalid = await cp.kubectl(['create', '--dry-run=server', '-n', NS, '-f', '-'], { input: JSON.stringify({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'OCIRepository', metadata: { name: 'x', namespace: NS }, spec: { interval: '5m' } }) });
  assert.notEqual(invalid.code, 0);
  assert.match(invalid.stderr, /spec\.url: Required value/);
  // The release namespace is excluded from the webhooks: objects there work even while the webhook is down.
  await cp.kubectlOk(['create', '-f', '-'], { input: repo('stored', NS, 'source.toolkit.fluxcd.io/v1beta2') });
  const asV1 = JSON.parse(await cp.kubectlOk(['get', 'ocirepositories.v1.source.toolkit.fluxcd.io', 'stored', '-n', NS, '-o', 'json'])) as { apiVersion: string };
  assert.equal(asV1.apiVersion, 'source.toolkit.fluxcd.io/v1');
});

test('the controller RBAC works against the chart CRDs (real authorizer)', async () => {
  const as = `--as=system:serviceaccount:${NS}:${FULL}`;
  assert.equal((await cp.kubectl(['auth', 'can-i', 'watch', 'ocirepositories.source.toolkit.fluxcd.io', '--all-namespaces', as])).code, 0);
  assert.equal((await cp.kubectl(['auth', 'can-i', 'patch', 'kustomizations.kustomize.toolkit.fluxcd.io', '--subresource=status', '-n', 'apps', as])).code, 0);
  assert.equal((await cp.kubectl(['auth', 'can-i', 'delete', 'ocirepositories.source.toolkit.fluxcd.io', '-n', 'apps', as])).code, 1);
});

test('the controller and audit values reach the stored Deployment; the Lease Role allows their two Leases only; impersonation of ServiceAccounts (real authorizer)', async () => {
  const deployment = JSON.parse(await cp.kubectlOk(['get', 'deployment', FULL, '-n', NS, '-o', 'json'])) as {
    spec: { template: { spec: { containers: { args: string[] }[]; volumes: { name: string; emptyDir?: { sizeLimit?: string } }[] } } };
  };
  const pod = deployment.spec.template.spec;
  const args = pod.containers[0]!.args;
  for (const arg of ['--controller', '--workers=2', '--label-selector=shard=a', '--storage-max-size=256', '--lease-duration=20', '--audit-lease-name=pinwarden-audit', `--leader-election-namespace=${NS}`, '--no-cross-namespace-refs', '--default-service-account=tenant'])
    assert.ok(args.includes(arg), `${arg} in ${JSON.stringify(args)}`);
  assert.equal(pod.volumes.find((volume) => volume.name === 'artifacts')?.emptyDir?.sizeLimit, '512Mi', 'the apiserver kept the store volume');
  const as = `--as=system:serviceaccount:${NS}:${FULL}`;
  const can = async (...args: string[]): Promise<boolean> => (await cp.kubectl(['auth', 'can-i', ...args, as])).code === 0;
  for (const lease of ['pinwarden-controller', 'pinwarden-audit']) {
    assert.ok(await can('update', `leases.coordination.k8s.io/${lease}`, '-n', NS), lease);
    assert.ok(await can('get', `leases.coordination.k8s.io/${lease}`, '-n', NS), lease);
  }
  assert.ok(await can('create', 'leases.coordination.k8s.io', '-n', NS));
  assert.equal(await can('update', 'leases.coordination.k8s.io/other', '-n', NS), false);
  assert.equal(await can('update', 'leases.coordination.k8s.io/pinwarden-audit', '-n', 'apps'), false);
  // --default-service-account: the controller may act as the tenant's ServiceAccount, and only impersonate that kind.
  assert.ok(await can('impersonate', 'serviceaccounts/tenant', '-n', 'apps'));
  assert.equal(await can('impersonate', 'users/admin'), false);
});

test('webhook down: the validating webhook fails closed; the NOTES recovery command unblocks; helm upgrade restores', async () => {
  const blocked = await cp.kubectl(['create', '-f', '-'], { input: repo('app', 'apps') });
  assert.notEqual(blocked.code, 0, 'fail-closed: nothing answers, so the source is refused');
  assert.match(blocked.stderr, /failed calling webhook "validate\.pinwarden\.dev"/);

  const recovery = notes.split('\n').map((line) => line.trim()).filter((line) => line.startsWith('kubectl delete'));
  assert.equal(recovery.length, 2, notes);
  for (const line of recovery) await cp.kubectlOk(line.split(/\s+/).slice(1));
  const admitted = await cp.kubectl(['create', '-f', '-'], { input: repo('app', 'apps') });
  assert.equal(admitted.code, 0, admitted.stderr);

  const upgraded = await release('upgrade');
  assert.equal(upgraded.code, 0, upgraded.stderr);
  await cp.kubectlOk(['get', 'validatingwebhookconfiguration', FULL]);
  await cp.kubectlOk(['get', 'mutatingwebhookconfiguration', FULL]);
  const blockedAgain = await cp.kubectl(['create', '-f', '-'], { input: repo('app2', 'apps') });
  assert.match(blockedAgain.stderr, /failed calling webhook "validate\.pinwarden\.dev"/);
});

test('helm uninstall: no webhook configuration left, the CRDs and the sources kept', async () => {
  const result = await helm(['uninstall', RELEASE, '-n', NS, '--kubeconfig', cp.adminKubeconfig, '--timeout', '2m'], { timeoutMs: 180_000 });
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(await cp.kubectlOk(['get', 'validatingwebhookconfigurations,mutatingwebhookconfigurations', '-o', 'name']), new RegExp(FULL));
  for (const crd of CRDS) await cp.kubectlOk(['get', 'crd', crd]);
  await cp.kubectlOk(['get', 'ocirepositories.source.toolkit.fluxcd.io', 'app', '-n', 'apps']);
  const admitted = await cp.kubectl(['create', '-f', '-'], { input: repo('app3', 'apps') });
  assert.equal(admitted.code, 0, admitted.stderr);
});
