// The chart installed with the real helm v4 into a real kube-apiserver (with the Flux CRDs, v1 + v1beta2):
// every object accepted by the apiserver's own validation, the generated certificate kept across upgrades
// (lookup), RBAC proven by the real authorizer per option, the rendered webhook configurations (pointed by
// url at `pinwarden serve` running from the built image) admitting, pinning and denying through the
// apiserver, and nothing left behind by uninstall.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startControlPlane, type ControlPlane } from '../../support/control-plane.ts';
import { loopbackPolicy, ociRepositoryObject } from '../../support/policies.ts';
import { freePort, startRegistry, type TestRegistry } from '../../helpers/registry.ts';
import { pushImage } from '../../helpers/push-image.ts';
import { APISERVER_CIDR, CHART_DIR, deepMerge, helm, withValues, type Run } from './helm.ts';
import { appImage, startServe, uidOf, type RunningServe } from './image.ts';

const NS = 'pinwarden-system';
const RELEASE = 'pw';
const FULL = 'pw-pinwarden';
const SA = `system:serviceaccount:${NS}:${FULL}`;

let cp: ControlPlane;
let registry: TestRegistry;
let image = '';
let webhookPort = 0;
let digest = '';
let serve: RunningServe | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'pinwarden-chart-install-'));

before(async () => {
  image = appImage();
  [cp, registry] = await Promise.all([startControlPlane({ fluxCrds: 'with-v1beta2' }), startRegistry({ mode: 'tls' })]);
  digest = await pushImage({ host: registry.host, path: 'acme/app', tls: { ca: registry.tls!.caPem } }, '1.0.0');
  webhookPort = await freePort();
}, { timeout: 30 * 60_000 });

after(async () => {
  await serve?.stop();
  await registry?.stop();
  await cp?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

let generation = 0;
/** Writes files into `dir` the way the kubelet projects a ConfigMap: `..<gen>/`, `..data` → it, `name` → `..data/name`. */
function project(dir: string, files: Record<string, string>): void {
  const version = `..gen_${++generation}`;
  mkdirSync(join(dir, version), { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, version, name), content, { mode: 0o644 });
  symlinkSync(version, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) if (!existsSync(join(dir, name))) symlinkSync(join('..data', name), join(dir, name));
  if (generation > 1) rmSync(join(dir, `..gen_${generation - 1}`), { recursive: true, force: true });
}

/** Values of this file's release: the webhooks call `pinwarden serve` from the image on loopback by url. */
function values(extra: Record<string, unknown> = {}): Record<string, unknown> {
  // Generous deadlines: a loaded 2-core CI machine must not turn a slow registry answer into a flake (the
  // defaults, 3 s and 5 s, are asserted by chart-template.test.ts).
  const policy = parse(loopbackPolicy(registry.host, { registryTimeoutSeconds: 5 })) as { spec: Record<string, unknown> };
  return deepMerge({
    networkPolicy: { webhook: { apiserverCIDRs: [APISERVER_CIDR] } },
    webhooks: { url: `https://127.0.0.1:${webhookPort}`, mutating: { timeoutSeconds: 10 }, validating: { timeoutSeconds: 10 } },
    certificates: { generate: { extraIPs: ['127.0.0.1'] } },
    policy: { name: 'cluster-test', spec: policy.spec },
  }, extra);
}

async function helmRelease(command: 'install' | 'upgrade', extra: Record<string, unknown> = {}): Promise<Run> {
  return withValues(values(extra), (flags) =>
    helm([command, RELEASE, CHART_DIR, '--namespace', NS, ...(command === 'install' ? ['--create-namespace'] : []), '--kubeconfig', cp.adminKubeconfig, '--timeout', '2m', ...flags], { timeoutMs: 180_000 }));
}

/** `resource` is kubectl's `resource[.group][/name]`, with `#sub` for a subresource (`ocirepositories…#status`). */
async function canI(verb: string, resource: string, namespace?: string): Promise<boolean> {
  const [target = resource, subresource] = resource.split('#');
  const args = ['auth', 'can-i', verb, target, ...(subresource ? [`--subresource=${subresource}`] : []), `--as=${SA}`, ...(namespace ? ['-n', namespace] : ['--all-namespaces'])];
  const result = await cp.kubectl(args);
  if (result.code !== 0 && result.code !== 1) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.code === 0;
}

async function assertRights(allowed: [string, string, string?][], denied: [string, string, string?][]): Promise<void> {
  const wrongAllowed: string[] = [];
  const wrongDenied: string[] = [];
  for (const [verb, resource, namespace] of allowed) if (!(await canI(verb, resource, namespace))) wrongDenied.push(`${verb} ${resource} ${namespace ?? '*'}`);
  for (const [verb, resource, namespace] of denied) if (await canI(verb, resource, namespace)) wrongAllowed.push(`${verb} ${resource} ${namespace ?? '*'}`);
  assert.deepEqual({ shouldBeAllowed: wrongDenied, shouldBeDenied: wrongAllowed }, { shouldBeAllowed: [], shouldBeDenied: [] });
}

async function json(args: string[]): Promise<Record<string, unknown>> {
  return JSON.parse(await cp.kubectlOk([...args, '-o', 'json'])) as Record<string, unknown>;
}

async function tlsSecret(): Promise<Record<string, string>> {
  return (await json(['get', 'secret', `${FULL}-tls`, '-n', NS])).data as Record<string, string>;
}

async function caBundles(): Promise<string[]> {
  const bundles: string[] = [];
  for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
    const obj = await json(['get', kind, FULL]);
    for (const hook of obj.webhooks as { clientConfig: { caBundle: string } }[]) bundles.push(hook.clientConfig.caBundle);
  }
  return bundles;
}

const DEFAULT_DENIED: [string, string, string?][] = [
  ['list', 'secrets'], ['watch', 'secrets'], ['create', 'secrets', 'apps'], ['update', 'secrets', 'apps'], ['delete', 'secrets', 'apps'],
  ['get', 'configmaps', 'apps'], ['list', 'serviceaccounts'], ['create', 'serviceaccounts/token', 'apps'],
  ['get', 'ocirepositories.source.toolkit.fluxcd.io', 'apps'], ['patch', 'ocirepositories.source.toolkit.fluxcd.io', 'apps'],
  ['create', 'leases.coordination.k8s.io', NS], ['delete', 'validatingwebhookconfigurations.admissionregistration.k8s.io'],
  ['create', 'pods', 'apps'], ['get', 'nodes'], ['*', '*'],
];

test('helm install: every object accepted by the real apiserver, NOTES with the recovery command', async () => {
  const result = await helmRelease('install');
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /kubectl delete validatingwebhookconfiguration pw-pinwarden/);
  const listed = await cp.kubectlOk(['get', 'deployment,service,serviceaccount,configmap,secret,poddisruptionbudget,networkpolicy', '-n', NS, '-o', 'name']);
  for (const name of [`deployment.apps/${FULL}`, `service/${FULL}`, `serviceaccount/${FULL}`, `configmap/${FULL}-policy`, `secret/${FULL}-tls`, `poddisruptionbudget.policy/${FULL}`, `networkpolicy.networking.k8s.io/${FULL}`]) {
    assert.ok(listed.split('\n').includes(name), `${name} missing in:\n${listed}`);
  }
  await cp.kubectlOk(['get', 'mutatingwebhookconfiguration', FULL]);
  await cp.kubectlOk(['get', 'validatingwebhookconfiguration', FULL]);
  const status = await helm(['status', RELEASE, '-n', NS, '--kubeconfig', cp.adminKubeconfig]);
  assert.match(status.stdout, /STATUS: deployed/);
});

test('the policy ConfigMap in the cluster is the SourcePolicy serve loads', async () => {
  const data = (await json(['get', 'configmap', `${FULL}-policy`, '-n', NS])).data as Record<string, string>;
  const policy = parse(data['policy.yaml'] ?? '') as { kind: string; spec: { ociRepository: { allowedRegistries: string[] } } };
  assert.equal(policy.kind, 'SourcePolicy');
  assert.deepEqual(policy.spec.ociRepository.allowedRegistries, [`oci://${registry.host}/`]);
});

test('RBAC by default (registry auth cluster-wide, no controller), by the real authorizer', async () => {
  await assertRights(
    [['get', 'secrets', 'apps'], ['get', 'serviceaccounts', 'apps'], ['get', 'secrets', 'flux-system'], ['get', 'secrets']],
    DEFAULT_DENIED,
  );
});

test('the rendered webhook configurations, served by the image, admit, pin and deny through the apiserver', async () => {
  // serve gets the chart's Secret (certificate with 127.0.0.1) and ConfigMap, and the chart's ServiceAccount's
  // token: it reads registry-ca with exactly the rights the chart grants.
  const secret = await tlsSecret();
  const policy = ((await json(['get', 'configmap', `${FULL}-policy`, '-n', NS])).data as Record<string, string>)['policy.yaml'] ?? '';
  const tlsDir = join(scratch, 'tls');
  const policyDir = join(scratch, 'policy');
  const kubeDir = join(scratch, 'kube');
  for (const dir of [tlsDir, policyDir, kubeDir]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(tlsDir, 'tls.crt'), Buffer.from(secret['tls.crt'] ?? '', 'base64'));
  writeFileSync(join(tlsDir, 'tls.key'), Buffer.from(secret['tls.key'] ?? '', 'base64'), { mode: 0o644 });
  project(policyDir, { 'policy.yaml': policy });
  const saKubeconfig = await cp.serviceAccountKubeconfig(NS, FULL);
  writeFileSync(join(kubeDir, 'config'), readFileSync(saKubeconfig), { mode: 0o644 });
  serve = await startServe(image, {
    port: webhookPort, metricsPort: await freePort(), tlsDir, policyDir,
    extraArgs: ['--kubeconfig=/etc/pinwarden/kube/config'],
    extraVolumes: [`${kubeDir}:/etc/pinwarden/kube:ro`],
  });

  await cp.kubectlOk(['create', 'namespace', 'apps']);
  await cp.kubectlOk(['create', 'secret', 'generic', 'registry-ca', '-n', 'apps', `--from-literal=ca.crt=${registry.tls!.caPem}`]);
  const url = `oci://${registry.host}/acme/app`;
  const create = (obj: Record<string, unknown>): Promise<{ code: number; stdout: string; stderr: string }> => cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(obj) });

  // Mutated (tag → digest, read over TLS with the tenant's certSecretRef), then validated: admitted.
  let admitted: { code: number; stderr: string } = { code: 1, stderr: '' };
  for (let attempt = 0; attempt < 40; attempt++) {
    admitted = await create(ociRepositoryObject({ name: 'app', namespace: 'apps', url, ref: { tag: '1.0.0' }, extraSpec: { certSecretRef: { name: 'registry-ca' } } }));
    if (admitted.code === 0 || !/failed calling webhook|connection refused/.test(admitted.stderr)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.equal(admitted.code, 0, admitted.stderr + serve.output());
  const stored = await json(['get', 'ocirepositories.v1.source.toolkit.fluxcd.io', 'app', '-n', 'apps']);
  assert.equal((stored.spec as { ref: { digest: string; tag: string } }).ref.digest, digest);
  assert.equal((stored.spec as { ref: { tag: string } }).ref.tag, '1.0.0');

  // v1beta2 goes through the same webhooks.
  const beta = await create(ociRepositoryObject({ name: 'beta', namespace: 'apps', url, ref: { tag: '1.0.0' }, apiVersion: 'source.toolkit.fluxcd.io/v1beta2', extraSpec: { certSecretRef: { name: 'registry-ca' } } }));
  assert.equal(beta.code, 0, beta.stderr);
  assert.equal(((await json(['get', 'ocirepositories.v1beta2.source.toolkit.fluxcd.io', 'beta', '-n', 'apps'])).spec as { ref: { digest: string } }).ref.digest, digest);

  // Denied by /validate, with the rule id in kubectl's error.
  const outside = await create(ociRepositoryObject({ name: 'outside', namespace: 'apps', url: 'oci://ghcr.io/evil/app', ref: { digest } }));
  assert.notEqual(outside.code, 0);
  assert.match(outside.stderr, /admission webhook "validate\.pinwarden\.dev" denied the request/);
  assert.match(outside.stderr, /registry-not-allowed/);
  const bucket = { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'Bucket', metadata: { name: 'b', namespace: 'apps' }, spec: { interval: '5m', bucketName: 'b', endpoint: 'minio.example:9000' } };
  const bucketResult = await create(bucket);
  assert.notEqual(bucketResult.code, 0);
  assert.match(bucketResult.stderr, /bucket-ignore-required/);

  // The release namespace is never sent to the webhooks (so pinwarden can always be repaired).
  const inRelease = await create(ociRepositoryObject({ name: 'outside', namespace: NS, url: 'oci://ghcr.io/evil/app', ref: { digest } }));
  assert.equal(inRelease.code, 0, inRelease.stderr);
});

test('helm upgrade keeps the generated certificate and caBundle (lookup against the real server)', async () => {
  const before = await tlsSecret();
  const bundlesBefore = await caBundles();
  assert.deepEqual(bundlesBefore, [before['ca.crt'], before['ca.crt']]);
  const result = await helmRelease('upgrade', { logLevel: 'debug' });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await tlsSecret(), before);
  assert.deepEqual(await caBundles(), bundlesBefore);
  const deployment = await json(['get', 'deployment', FULL, '-n', NS]);
  const args = ((deployment.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]?.args) ?? [];
  assert.ok(args.includes('--log-level=debug'), 'the upgrade was applied');
  // And the webhooks still answer with the kept certificate.
  const denied = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(ociRepositoryObject({ name: 'again', namespace: 'apps', url: 'oci://ghcr.io/evil/app', ref: { digest } })) });
  assert.match(denied.stderr, /registry-not-allowed/);
});

test('a policy edit by helm upgrade reaches the running serve through the ConfigMap mount, without a restart', async () => {
  assert.ok(serve, 'serve runs');
  const pid = serve.pid;
  const result = await helmRelease('upgrade', { policy: { spec: { mode: 'warn' } } });
  assert.equal(result.code, 0, result.stderr);
  const policy = ((await json(['get', 'configmap', `${FULL}-policy`, '-n', NS])).data as Record<string, string>)['policy.yaml'] ?? '';
  assert.match(policy, /mode: warn/);
  // What the kubelet does with the new ConfigMap: a new timestamped directory, then the ..data symlink swapped.
  project(join(scratch, 'policy'), { 'policy.yaml': policy });
  const object = JSON.stringify(ociRepositoryObject({ name: 'warned', namespace: 'apps', url: 'oci://ghcr.io/evil/app', ref: { digest } }));
  let last = { code: 1, stdout: '', stderr: '' };
  for (let attempt = 0; attempt < 60; attempt++) {
    last = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: object });
    if (last.code === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.equal(last.code, 0, `still denied after the policy edit: ${last.stderr}`);
  assert.match(last.stderr, /Warning: .*registry-not-allowed/);
  assert.equal(serve.pid, pid);
  assert.equal(uidOf(pid), 65532, 'the same process, still running');
});

test('RBAC with the controller: its sources, status, events and one Lease, nothing to apply until granted', async () => {
  const result = await helmRelease('upgrade', { controller: { enabled: true } });
  assert.equal(result.code, 0, result.stderr);
  await assertRights(
    [
      ['get', 'ocirepositories.source.toolkit.fluxcd.io', 'apps'], ['list', 'ocirepositories.source.toolkit.fluxcd.io'], ['watch', 'ocirepositories.source.toolkit.fluxcd.io'],
      ['patch', 'ocirepositories.source.toolkit.fluxcd.io#status', 'apps'], ['update', 'ocirepositories.source.toolkit.fluxcd.io#status', 'apps'],
      ['list', 'kustomizations.kustomize.toolkit.fluxcd.io'], ['patch', 'kustomizations.kustomize.toolkit.fluxcd.io#status', 'apps'],
      ['create', 'events', 'apps'], ['create', 'events.events.k8s.io', 'apps'],
      ['create', 'leases.coordination.k8s.io', NS], ['update', 'leases.coordination.k8s.io/pinwarden-controller', NS], ['get', 'leases.coordination.k8s.io/pinwarden-controller', NS],
      ['get', 'secrets', 'apps'],
      // pinwarden's finalizer (a metadata-only patch), and the ServiceAccount lookup when a Kustomization is deleted.
      ['patch', 'ocirepositories.source.toolkit.fluxcd.io', 'apps'], ['patch', 'kustomizations.kustomize.toolkit.fluxcd.io', 'apps'],
      ['get', 'serviceaccounts', 'apps'],
    ],
    [
      ['update', 'ocirepositories.source.toolkit.fluxcd.io', 'apps'], ['delete', 'ocirepositories.source.toolkit.fluxcd.io', 'apps'],
      ['update', 'kustomizations.kustomize.toolkit.fluxcd.io', 'apps'], ['delete', 'kustomizations.kustomize.toolkit.fluxcd.io', 'apps'],
      ['patch', 'buckets.source.toolkit.fluxcd.io', 'apps'], ['update', 'buckets.source.toolkit.fluxcd.io#status', 'apps'],
      ['update', 'leases.coordination.k8s.io/other-lease', NS], ['create', 'leases.coordination.k8s.io', 'apps'], ['get', 'leases.coordination.k8s.io/pinwarden-controller', 'apps'],
      ['create', 'configmaps', 'apps'], ['create', 'deployments.apps', 'apps'], ['create', 'namespaces'], ['list', 'secrets'], ['*', '*'],
    ],
  );
  const granted = await helmRelease('upgrade', { controller: { enabled: true, rbac: { applyRules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'patch'] }] } } });
  assert.equal(granted.code, 0, granted.stderr);
  await assertRights([['create', 'configmaps', 'apps'], ['patch', 'configmaps', 'apps']], [['delete', 'configmaps', 'apps'], ['create', 'secrets', 'apps']]);
});

test('RBAC with registry auth in named namespaces, and with registry auth off', async () => {
  await cp.kubectlOk(['create', 'namespace', 'team-a']);
  const scoped = await helmRelease('upgrade', { registryAuth: { namespaces: ['team-a'] } });
  assert.equal(scoped.code, 0, scoped.stderr);
  await assertRights(
    [['get', 'secrets', 'team-a'], ['get', 'serviceaccounts', 'team-a']],
    [['get', 'secrets', 'apps'], ['get', 'serviceaccounts', 'apps'], ['get', 'secrets'], ['list', 'secrets', 'team-a'], ['list', 'ocirepositories.source.toolkit.fluxcd.io'], ['create', 'leases.coordination.k8s.io', NS]],
  );
  const off = await helmRelease('upgrade', { registryAuth: { enabled: false } });
  assert.equal(off.code, 0, off.stderr);
  await assertRights([], [['get', 'secrets', 'team-a'], ['get', 'secrets', 'apps'], ['get', 'serviceaccounts', 'apps'], ...DEFAULT_DENIED]);
});

test('helm uninstall leaves no webhook configuration (and no RBAC) behind', async () => {
  const result = await helm(['uninstall', RELEASE, '-n', NS, '--kubeconfig', cp.adminKubeconfig, '--timeout', '2m'], { timeoutMs: 180_000 });
  assert.equal(result.code, 0, result.stderr);
  for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations', 'clusterroles', 'clusterrolebindings']) {
    const names = await cp.kubectlOk(['get', kind, '-o', 'name']);
    assert.ok(!names.includes(FULL), `${kind} still has ${FULL}:\n${names}`);
  }
  const left = await cp.kubectlOk(['get', 'deployment,service,secret,configmap,networkpolicy', '-n', NS, '-o', 'name']);
  assert.ok(!left.includes(FULL), left);
  // With the webhooks gone, what they denied is admitted again.
  const outside = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(ociRepositoryObject({ name: 'outside', namespace: 'apps', url: 'oci://ghcr.io/evil/app', ref: { digest } })) });
  assert.equal(outside.code, 0, outside.stderr);
});
