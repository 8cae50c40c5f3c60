// Kustomization spec.kubeConfig (a remote cluster) under the controller manager on a real kube-apiserver. The
// "remote" cluster is the same apiserver reached with another identity: the kubeconfig Secret holds a token of a
// ServiceAccount whose Role allows ConfigMaps in one namespace only, so what went through the remote client is
// visible in RBAC (a Namespace in the manifests is Forbidden for that ServiceAccount, while the controller's own
// client is an admin). The operator's allow-list (--remote-cluster) names the apiserver's host:port; anything
// else is Stalled before a connection is made. serviceAccountName is impersonated there by the kubeconfig identity.
// Secret content never reaches status, Events or logs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import type { Loose } from '../../../helpers/admission.ts';
import { createKubeSecretReader, createObjectClients, createRemoteObjectClients } from '../../../../src/kube/index.ts';
import type { ObjectClients } from '../../../../src/kube/index.ts';
import { createRemoteClusters } from '../../../../src/controller/kustomization/index.ts';
import type { ControllerManager } from '../../../../src/controller/runtime/index.ts';
import { poll } from '../../../helpers/poll.ts';
import { kustomizationObject } from '../../../support/controller.ts';
import { createArtifactDirs, freshNamespace, live, managers, startKustomizationManager } from './fixtures.ts';

let cp: ControlPlane;
let manager: ControllerManager;
let clients: ObjectClients;
let listener: Server;
let connections = 0;
let listenerPort = 0;
const artifacts = createArtifactDirs('c');
const logs: string[] = [];
/** Every credential the tests put into Secrets: none may appear in a status, an Event or a log line. */
const secrets: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'pinwarden-remote-'));

before(async () => {
  cp = await startControlPlane();
  // A listener that must never be contacted (the server of a kubeconfig the allow-list does not name).
  listener = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerPort = (listener.address() as { port: number }).port;
  clients = createObjectClients(cp.kubeConfig());
  const capture = (level: string) => (fields: object, message: string) =>
    logs.push(`${level} ${message} ${JSON.stringify(fields)}`);
  const logger = { info: capture('info'), warn: capture('warn'), error: capture('error'), debug: capture('debug') };
  manager = await startKustomizationManager(cp, clients, {
    artifacts,
    remote: createRemoteClusters({
      // Uncached here so a Secret created mid-test is seen at the next retry (the controller caches 10 s).
      secrets: createKubeSecretReader({ kubeconfig: cp.adminKubeconfig }),
      rules: { allowedServers: [new URL(cp.url).host], allowExec: false, allowInsecureTls: false },
      build: (config) => createRemoteObjectClients(config),
    }),
    logger,
  });
});
after(async () => {
  await manager?.stop();
  await cp?.stop();
  await new Promise((resolve) => listener?.close(resolve));
  artifacts.remove();
  rmSync(work, { recursive: true, force: true });
});

const publish = (ns: string, files: Record<string, string>): Promise<string> =>
  artifacts.publish(clients.client, ns, files);

const cm = (name: string, v = '1'): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  v: "${v}"\n`;

/** A ServiceAccount allowed ConfigMaps in `ns` only, and a kubeconfig with its token (server = the apiserver). */
async function deployerKubeconfig(ns: string): Promise<string> {
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'deployer', namespace: ns },
          rules: [
            {
              apiGroups: [''],
              resources: ['configmaps'],
              verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
            },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'deployer', namespace: ns },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
          subjects: [{ kind: 'ServiceAccount', name: 'remote-deployer', namespace: ns }],
        },
      ],
    }),
  });
  const text = readFileSync(await cp.serviceAccountKubeconfig(ns, 'remote-deployer'), 'utf8');
  const token = /token: *"?([^"\s]+)/.exec(text)?.[1];
  assert.ok(token !== undefined && token.length > 20, 'the kubeconfig carries a token');
  secrets.push(token, text);
  return text;
}

async function secret(ns: string, name: string, data: Record<string, string>): Promise<void> {
  const file = join(work, `${ns}-${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: ns },
      data: Object.fromEntries(
        Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
      ),
    }),
  );
  await cp.kubectlOk(['apply', '-f', file]);
}

async function kustomization(ns: string, spec: Loose): Promise<void> {
  await clients.client.apply(
    kustomizationObject(ns, 'apps', 'app', {
      retryInterval: '2s',
      prune: true,
      targetNamespace: ns,
      kubeConfig: { secretRef: { name: 'remote' } },
      ...spec,
    }),
    { fieldManager: 'test', force: true },
  );
}

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> =>
  poll(what, probe, { timeoutMs, intervalMs: 200 });

const condition = (ks: Loose, type: string): Loose => ks?.status?.conditions?.find((item: Loose) => item.type === type);
const kustomizationIn = (ns: string): Promise<Loose> =>
  live(cp, ['kustomizations.kustomize.toolkit.fluxcd.io', '-n', ns, 'apps']);
const readyWith = (ns: string, status: string, reason: string) => async (): Promise<Loose> => {
  const ks = await kustomizationIn(ns);
  const ready = condition(ks, 'Ready');
  return ready?.status === status && ready.reason === reason ? ks : undefined;
};

test('applies, health-checks and prunes on the cluster the kubeconfig names, as its identity; deletion prunes there', async () => {
  const ns = await freshNamespace(cp, 'remote');
  await secret(ns, 'remote', { value: await deployerKubeconfig(ns) });
  const first = await publish(ns, { 'a.yaml': cm('a'), 'b.yaml': cm('b') });
  await kustomization(ns, { wait: true });
  const ks = await until('Ready=True', readyWith(ns, 'True', 'ReconciliationSucceeded'));
  assert.equal(ks.status.lastAppliedRevision, first);
  assert.equal(condition(ks, 'Healthy')?.status, 'True', 'health checked (wait: true) through the remote client');
  assert.deepEqual(managers(await live(cp, ['configmap', '-n', ns, 'a'])), ['pinwarden/Apply']);

  const second = await publish(ns, { 'a.yaml': cm('a', '2') });
  await until('the second revision', async () =>
    (await kustomizationIn(ns))?.status?.lastAppliedRevision === second ? true : undefined,
  );
  assert.equal((await live(cp, ['configmap', '-n', ns, 'a'])).data.v, '2');
  assert.equal(await live(cp, ['configmap', '-n', ns, 'b']), undefined, 'b pruned through the remote client');

  // The remote identity may not create Namespaces: Forbidden, naming it (the controller's own client is an admin).
  await publish(ns, {
    'a.yaml': cm('a', '2'),
    'ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}-extra\n`,
  });
  const refused = await until(
    'Ready=False (Forbidden on the remote cluster)',
    readyWith(ns, 'False', 'ReconciliationFailed'),
  );
  assert.match(condition(refused, 'Ready').message, new RegExp(`system:serviceaccount:${ns}:remote-deployer`));
  assert.equal(await live(cp, ['namespace', `${ns}-extra`]), undefined);

  // Deleting the Kustomization (prune: true) deletes its inventory on the remote cluster.
  await cp.kubectlOk(['delete', 'kustomizations.kustomize.toolkit.fluxcd.io', '-n', ns, 'apps', '--wait=false']);
  await until('the Kustomization finalized', async () =>
    (await kustomizationIn(ns)) === undefined ? true : undefined,
  );
  assert.equal(await live(cp, ['configmap', '-n', ns, 'a']), undefined, 'a deleted on finalize');
});

test('serviceAccountName is impersonated on the remote cluster by the kubeconfig identity', async () => {
  const ns = await freshNamespace(cp, 'remote-sa');
  const text = await deployerKubeconfig(ns);
  // The kubeconfig's identity may impersonate ServiceAccounts of this namespace; `tenant` itself has no rights.
  await cp.kubectlOk(['create', 'role', 'impersonator', '-n', ns, '--verb=impersonate', '--resource=serviceaccounts']);
  await cp.kubectlOk([
    'create',
    'rolebinding',
    'impersonator',
    '-n',
    ns,
    '--role=impersonator',
    `--serviceaccount=${ns}:remote-deployer`,
  ]);
  await cp.kubectlOk(['create', 'serviceaccount', '-n', ns, 'tenant']);
  await secret(ns, 'remote', { value: text });
  await publish(ns, { 'a.yaml': cm('a') });
  await kustomization(ns, { serviceAccountName: 'tenant' });
  const refused = await until(
    'Ready=False (tenant has no rights there)',
    readyWith(ns, 'False', 'ReconciliationFailed'),
  );
  assert.match(condition(refused, 'Ready').message, new RegExp(`system:serviceaccount:${ns}:tenant`));
  assert.equal(await live(cp, ['configmap', '-n', ns, 'a']), undefined);
  // Grant tenant ConfigMaps: the next retry applies as tenant.
  await cp.kubectlOk(['create', 'rolebinding', 'tenant', '-n', ns, '--role=deployer', `--serviceaccount=${ns}:tenant`]);
  await until('Ready=True as tenant', readyWith(ns, 'True', 'ReconciliationSucceeded'));
  assert.equal((await live(cp, ['configmap', '-n', ns, 'a'])).data.v, '1');
});

test('a server the allow-list does not name: Stalled, nothing applied, no connection made', async () => {
  const ns = await freshNamespace(cp, 'remote-denied');
  const text = (await deployerKubeconfig(ns)).replace(cp.url, `https://127.0.0.1:${listenerPort}`);
  assert.ok(text.includes(`127.0.0.1:${listenerPort}`));
  await secret(ns, 'remote', { value: text });
  await publish(ns, { 'a.yaml': cm('a') });
  await kustomization(ns, {});
  const ks = await until('Stalled', readyWith(ns, 'False', 'RemoteClusterDenied'));
  assert.equal(condition(ks, 'Stalled')?.status, 'True');
  assert.equal(condition(ks, 'Stalled')?.reason, 'RemoteClusterDenied');
  assert.match(
    condition(ks, 'Ready').message,
    new RegExp(`Secret '${ns}/remote' key 'value'.*127\\.0\\.0\\.1:${listenerPort}.*--remote-cluster`),
  );
  assert.equal(await live(cp, ['configmap', '-n', ns, 'a']), undefined, 'nothing applied');
  assert.equal(connections, 0, 'the refused server was never contacted');
});

test('an exec kubeconfig is refused (Stalled) and its command never runs', async () => {
  const ns = await freshNamespace(cp, 'remote-exec');
  const marker = join(work, 'exec-ran');
  const exec = [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: c, cluster: {server: "${cp.url}", certificate-authority-data: ${Buffer.from(cp.ca.certPem).toString('base64')}}}]`,
    `users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ["-c", "touch ${marker}"]}}}]`,
    'contexts: [{name: x, context: {cluster: c, user: u}}]',
    'current-context: x',
  ].join('\n');
  await secret(ns, 'remote', { 'value.yaml': exec });
  await publish(ns, { 'a.yaml': cm('a') });
  await kustomization(ns, {});
  const ks = await until('Stalled', readyWith(ns, 'False', 'KubeConfigRefused'));
  assert.equal(condition(ks, 'Stalled')?.status, 'True');
  assert.match(condition(ks, 'Ready').message, /key 'value\.yaml'.*exec credential plugin.*--insecure-kubeconfig-exec/);
  assert.equal(existsSync(marker), false, 'the exec command never ran');
  assert.equal(await live(cp, ['configmap', '-n', ns, 'a']), undefined);
});

test('missing Secret, then missing key: Ready=False KubeConfigNotFound and retried; once fixed, applied', async () => {
  const ns = await freshNamespace(cp, 'remote-missing');
  await publish(ns, { 'a.yaml': cm('a') });
  await kustomization(ns, {});
  const missing = await until('KubeConfigNotFound (no Secret)', readyWith(ns, 'False', 'KubeConfigNotFound'));
  assert.match(condition(missing, 'Ready').message, new RegExp(`Secret '${ns}/remote' not found`));
  assert.notEqual(condition(missing, 'Stalled')?.status, 'True', 'not stalled: retried');
  const text = await deployerKubeconfig(ns);
  await secret(ns, 'remote', { kubeconfig: text });
  await until('KubeConfigNotFound (no key)', async () => {
    const ks = await kustomizationIn(ns);
    return /has no key 'value' or 'value\.yaml'/.test(condition(ks, 'Ready')?.message ?? '') ? ks : undefined;
  });
  await secret(ns, 'remote', { kubeconfig: text, value: text });
  await until('applied after the Secret was fixed (retryInterval)', readyWith(ns, 'True', 'ReconciliationSucceeded'));
  assert.equal((await live(cp, ['configmap', '-n', ns, 'a'])).data.v, '1');
});

test('a garbage kubeconfig: InvalidKubeConfig naming the Secret and the position, never the content', async () => {
  const ns = await freshNamespace(cp, 'remote-garbage');
  const garbage = 'token: GARBAGE-SECRET-MARKER-9f2c\n  clusters: [unclosed\n';
  secrets.push('GARBAGE-SECRET-MARKER-9f2c');
  await secret(ns, 'remote', { value: garbage });
  await publish(ns, { 'a.yaml': cm('a') });
  await kustomization(ns, {});
  const ks = await until('InvalidKubeConfig', readyWith(ns, 'False', 'InvalidKubeConfig'));
  assert.match(
    condition(ks, 'Ready').message,
    new RegExp(`Secret '${ns}/remote' key 'value' is not valid: it is not YAML \\(line \\d+, column \\d+\\)`),
  );
  assert.equal(await live(cp, ['configmap', '-n', ns, 'a']), undefined);
});

test('no Secret content in any Kustomization status, Event or controller log line', async () => {
  assert.ok(secrets.length >= 5, 'the tests above stored credentials');
  const statuses = JSON.parse(
    await cp.kubectlOk(['get', 'kustomizations.kustomize.toolkit.fluxcd.io', '-A', '-o', 'json']),
  ).items.map((item: Loose) => JSON.stringify(item.status ?? {})) as string[];
  const events = JSON.parse(await cp.kubectlOk(['get', 'events', '-A', '-o', 'json'])).items.map((item: Loose) =>
    JSON.stringify(item),
  ) as string[];
  assert.ok(
    statuses.length >= 4 && events.some((event) => /KubeConfig|RemoteCluster/.test(event)),
    'there is something to look at',
  );
  assert.ok(
    logs.some((line) => /RemoteClusterDenied|not valid|not found/.test(line) || /reconcile failed/.test(line)),
    logs.join('\n'),
  );
  for (const [where, texts] of [
    ['status', statuses],
    ['Events', events],
    ['logs', logs],
  ] as const)
    for (const value of secrets)
      for (const part of value === secrets[0] || value.length < 200
        ? [value]
        : value.split('\n').filter((line) => line.length > 40))
        assert.ok(!texts.some((text) => text.includes(part)), `${where} carry Secret content`);
});
