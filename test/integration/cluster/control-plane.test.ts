// The harness itself (issue #8 item 2): a real etcd + kube-apiserver on loopback, RBAC enforced, Flux CRDs
// Established, ServiceAccount kubeconfigs from the TokenRequest API, and a stop that leaves nothing behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { KUBE_VERSION, startControlPlane } from '../../support/control-plane.ts';
import type { ControlPlane } from '../../support/control-plane.ts';

let cp: ControlPlane;
before(async () => {
  cp = await startControlPlane({ fluxCrds: 'with-v1beta2' });
});
after(() => cp?.stop());

test('kubectl and the apiserver both report the pinned release', async () => {
  const version = JSON.parse(await cp.kubectlOk(['version', '-o', 'json']));
  assert.equal(version.clientVersion.gitVersion, KUBE_VERSION);
  assert.equal(version.serverVersion.gitVersion, KUBE_VERSION);
});

test('starts within the budget (10 s target; a loaded machine gets a generous ceiling)', () => {
  assert.ok(cp.startupMs < 45_000, `start-up took ${cp.startupMs} ms`);
});

test('the Flux CRDs are Established, v1 and v1beta2 served', async () => {
  const crd = JSON.parse(await cp.kubectlOk(['get', 'crd', 'ocirepositories.source.toolkit.fluxcd.io', '-o', 'json']));
  const established = crd.status.conditions.find((c: { type: string }) => c.type === 'Established');
  assert.equal(established.status, 'True');
  assert.deepEqual(crd.spec.versions.map((v: { name: string; served: boolean }) => `${v.name}:${v.served}`).sort(), [
    'v1:true',
    'v1beta2:true',
  ]);
});

test('RBAC is real: a ServiceAccount is forbidden until a Role grants it', async () => {
  await cp.kubectlOk(['create', 'namespace', 'rbac-check']);
  const sa = await cp.serviceAccountKubeconfig('rbac-check', 'reader');
  const denied = await cp.kubectl(['get', 'ocirepositories', '-n', 'rbac-check'], { kubeconfig: sa });
  assert.equal(denied.code, 1);
  assert.match(
    denied.stderr,
    /forbidden: User "system:serviceaccount:rbac-check:reader" cannot list resource "ocirepositories"/,
  );
  await cp.kubectlOk([
    'create',
    'role',
    'reader',
    '-n',
    'rbac-check',
    '--verb=get,list',
    '--resource=ocirepositories.source.toolkit.fluxcd.io',
  ]);
  await cp.kubectlOk([
    'create',
    'rolebinding',
    'reader',
    '-n',
    'rbac-check',
    '--role=reader',
    '--serviceaccount=rbac-check:reader',
  ]);
  const allowed = await cp.kubectl(['get', 'ocirepositories', '-n', 'rbac-check'], { kubeconfig: sa });
  assert.equal(allowed.code, 0, allowed.stderr);
});

test('a client certificate names the user and its groups', async () => {
  const cert = await cp.clientCertificate('jane', ['team-a']);
  const config = cp.kubeConfig();
  const user = config.getCurrentUser()!;
  (user as { certData?: string }).certData = Buffer.from(cert.certPem).toString('base64');
  (user as { keyData?: string }).keyData = Buffer.from(cert.keyPem).toString('base64');
  const api = config.makeApiClient(CustomObjectsApi);
  await assert.rejects(
    api.listNamespacedCustomObject({
      group: 'source.toolkit.fluxcd.io',
      version: 'v1',
      namespace: 'default',
      plural: 'ocirepositories',
    }),
    (error: { code?: number; body?: string }) => error.code === 403 && String(error.body).includes('User \\"jane\\"'),
  );
});

test('@kubernetes/client-node talks to it with the admin kubeconfig', async () => {
  const api = cp.kubeConfig().makeApiClient(CustomObjectsApi);
  const list = await api.listNamespacedCustomObject({
    group: 'source.toolkit.fluxcd.io',
    version: 'v1',
    namespace: 'default',
    plural: 'ocirepositories',
  });
  assert.deepEqual((list as { items: unknown[] }).items, []);
});

test('stop() kills both processes by PID and removes the directory', async () => {
  const other = await startControlPlane({ fluxCrds: 'none' });
  const { etcd, apiserver } = other.pids;
  assert.ok(existsSync(other.dir));
  await other.stop();
  assert.equal(existsSync(other.dir), false);
  for (const pid of [etcd, apiserver]) assert.throws(() => process.kill(pid, 0), /ESRCH/);
});
