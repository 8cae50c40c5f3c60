// Issue #10 item 7, flows 1–3, end to end with the real binaries: `pinwarden push` publishes the artifact to
// Debian's docker-registry, the test signs it (cosign v2 format, its own key), and `pinwarden controller`
// (dist/main.js) reconciles the OCIRepository and the Kustomization on the real kube-apiserver.
//   1. the objects appear, owned by field manager `pinwarden`, labelled as Flux labels them;
//   2. a new digest under the same tag: objects updated, the removed one pruned, inventory and revisions move;
//   3. a new digest with a bad signature: nothing applied, the previous revision stays, the status says why.
//   3b. a Kustomization with spec.kubeConfig (a ServiceAccount token for the same apiserver, allowed by
//       `--remote-cluster`): applied and finalized there, the token never in the process's logs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeApi, objectPath, RESOURCES, kubeStatusOf } from '../../../../src/kube/index.ts';
import type { KubeApi } from '../../../../src/kube/index.ts';
import { HttpRepository } from '../../../../src/oci/index.ts';
import { runBuiltCli } from '../../../helpers/cli.ts';
import { startRegistry } from '../../../helpers/registry.ts';
import type { TestRegistry } from '../../../helpers/registry.ts';
import { attachLegacy, legacySignature } from '../../../helpers/sigstore-fixtures-sign.ts';
import { PLATFORM_KEY } from '../../../helpers/trust.ts';
import { poll } from '../../../helpers/poll.ts';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import {
  controllerPolicy,
  hasCondition,
  kustomizationObject,
  namespaceWithCosignKey,
  ociRepositoryYaml,
  startControllerProcess,
} from '../../../support/controller.ts';
import type { ControllerProcess } from '../../../support/controller.ts';

let cp: ControlPlane;
let registry: TestRegistry;
let api: KubeApi;
let controller: ControllerProcess;
let dir: string;
const NS = 'shop';

before(async () => {
  [cp, registry] = await Promise.all([startControlPlane(), startRegistry()]);
  api = createKubeApi({ config: cp.kubeConfig() });
  dir = mkdtempSync(join(tmpdir(), 'pw-e2e-'));
  await namespaceWithCosignKey(cp, NS);
  controller = await startControllerProcess({
    kubeconfig: cp.adminKubeconfig,
    policy: controllerPolicy(registry.host),
    // The apiserver is also the "remote cluster" of test 3b (spec.kubeConfig, reached with a ServiceAccount token).
    args: ['--no-leader-elect', '--remote-cluster', new URL(cp.url).host],
  });
});
after(async () => {
  await controller?.kill();
  await Promise.all([cp?.stop(), registry?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let pushes = 0;
/** `pinwarden push` of `files` to apps/shop:v1, then a signature by `signer`; returns the digest. */
async function publish(
  files: Record<string, string>,
  signer: { privateKey: KeyObject; publicKey: KeyObject } = PLATFORM_KEY,
): Promise<string> {
  const source = join(dir, `src-${++pushes}`);
  mkdirSync(source);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(source, name), content);
  const run = await runBuiltCli([
    'push',
    source,
    `oci://${registry.host}/apps/shop:v1`,
    '--source',
    'https://github.com/acme/shop',
    '--revision',
    `main@sha1:${String(pushes).repeat(40)}`,
    '--insecure',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const digest = /sha256:[a-f0-9]{64}/.exec(run.stdout)?.[0];
  assert.ok(digest, run.stdout);
  const repository = HttpRepository.fromUrl(`oci://${registry.host}/apps/shop`, { insecure: true });
  const subject = await repository.resolve(digest, { signal: AbortSignal.timeout(10_000) });
  await attachLegacy(repository, subject, [legacySignature(signer, `${registry.host}/apps/shop`, digest)]);
  return digest;
}

const configMap = (name: string, value: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  value: "${value}"\n`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fields asserted one by one
async function get(resource: Parameters<typeof objectPath>[0], namespace: string, name: string): Promise<any> {
  return api.request({ method: 'GET', path: objectPath(resource, namespace, name) });
}
const CONFIGMAPS = { group: '', version: 'v1', resource: 'configmaps', namespaced: true, kind: 'ConfigMap' };

/** Every wait here: up to a minute, a failed GET is "not yet", the controller's last log lines on timeout. */
const until = <T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> =>
  poll(what, probe, {
    timeoutMs: 60_000,
    intervalMs: 200,
    ignoreErrors: true,
    detail: () => controller.logs().slice(-15).join('\n'),
  });

test('1. push, create the OCIRepository and the Kustomization: the objects appear, owned by field manager pinwarden', async () => {
  const digest = await publish({ 'web.yaml': configMap('web', 'one'), 'db.yaml': configMap('db', 'one') });
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        JSON.parse(ociRepositoryYaml(registry.host, NS, 'shop', 'apps/shop', { tag: 'v1' }, '2s')),
        kustomizationObject(NS, 'shop', 'shop', { prune: true, targetNamespace: NS }),
      ],
    }),
  });
  const web = await until('web applied', () => get(CONFIGMAPS, NS, 'web'));
  assert.equal(web.data.value, 'one');
  assert.ok(
    web.metadata.managedFields.some(
      (entry: { manager: string; operation: string }) => entry.manager === 'pinwarden' && entry.operation === 'Apply',
    ),
    'applied by field manager pinwarden',
  );
  assert.equal(web.metadata.labels['kustomize.toolkit.fluxcd.io/name'], 'shop');
  assert.equal(web.metadata.labels['kustomize.toolkit.fluxcd.io/namespace'], NS);
  const ks = await until('Kustomization Ready', async () => {
    const object = await get(RESOURCES.kustomization, NS, 'shop');
    return object.status?.lastAppliedRevision === `v1@${digest}` && object;
  });
  assert.deepEqual(ks.status.inventory.entries.map((entry: { id: string }) => entry.id).sort(), [
    `${NS}_db__ConfigMap`,
    `${NS}_web__ConfigMap`,
  ]);
  assert.equal(
    ks.status.conditions.find((condition: { type: string }) => condition.type === 'Ready')?.message,
    `Applied revision: v1@${digest}`,
  );
});

test('2. a new digest: objects updated, the removed one pruned, the inventory and revisions move', async () => {
  const digest = await publish({ 'web.yaml': configMap('web', 'two'), 'cache.yaml': configMap('cache', 'two') });
  const ks = await until('the new revision applied', async () => {
    const object = await get(RESOURCES.kustomization, NS, 'shop');
    return object.status?.lastAppliedRevision === `v1@${digest}` && object;
  });
  assert.equal((await get(CONFIGMAPS, NS, 'web')).data.value, 'two');
  assert.equal((await get(CONFIGMAPS, NS, 'cache')).data.value, 'two');
  assert.equal(kubeStatusOf(await get(CONFIGMAPS, NS, 'db').catch((error: unknown) => error)), 404, 'db pruned');
  assert.deepEqual(ks.status.inventory.entries.map((entry: { id: string }) => entry.id).sort(), [
    `${NS}_cache__ConfigMap`,
    `${NS}_web__ConfigMap`,
  ]);
  const source = await get(RESOURCES.ociRepository, NS, 'shop');
  assert.equal(source.status.artifact.revision, `v1@${digest}`);
});

test('3. a new digest with a bad signature: nothing applied, the previous revision stays, the status says why', async () => {
  const before = await get(RESOURCES.kustomization, NS, 'shop');
  const intruder = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const bad = await publish(
    { 'web.yaml': configMap('web', 'evil'), 'cache.yaml': configMap('cache', 'evil') },
    intruder,
  );
  const source = await until('SourceVerified=False', async () => {
    const object = await get(RESOURCES.ociRepository, NS, 'shop');
    return hasCondition(object, 'SourceVerified', 'False') && object;
  });
  const ready = source.status.conditions.find((condition: { type: string }) => condition.type === 'Ready');
  assert.equal(ready.status, 'False');
  assert.equal(ready.reason, 'VerificationError');
  assert.match(ready.message, /failed to verify the signature using provider 'cosign'/);
  assert.notEqual(source.status.artifact.revision, `v1@${bad}`, 'the artifact is still the last verified one');
  // Give the controller more intervals to (wrongly) apply it.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  assert.equal((await get(CONFIGMAPS, NS, 'web')).data.value, 'two', 'nothing applied');
  const after = await get(RESOURCES.kustomization, NS, 'shop');
  assert.equal(after.status.lastAppliedRevision, before.status.lastAppliedRevision);
});

test('3b. spec.kubeConfig through `pinwarden controller --remote-cluster`: applied and finalized as the kubeconfig identity', async () => {
  const remoteNs = 'shop-remote';
  await cp.kubectlOk(['create', 'namespace', remoteNs]);
  await cp.kubectlOk([
    'create',
    'role',
    'deployer',
    '-n',
    remoteNs,
    '--verb=get,list,create,update,patch,delete',
    '--resource=configmaps',
  ]);
  await cp.kubectlOk(['create', 'serviceaccount', '-n', remoteNs, 'deployer']);
  await cp.kubectlOk([
    'create',
    'rolebinding',
    'deployer',
    '-n',
    remoteNs,
    '--role=deployer',
    `--serviceaccount=${remoteNs}:deployer`,
  ]);
  const kubeconfig = await cp.serviceAccountKubeconfig(remoteNs, 'deployer');
  await cp.kubectlOk(['create', 'secret', 'generic', 'remote-kc', '-n', NS, `--from-file=value=${kubeconfig}`]);
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify(
      kustomizationObject(NS, 'shop-remote', 'shop', {
        prune: true,
        targetNamespace: remoteNs,
        kubeConfig: { secretRef: { name: 'remote-kc' } },
      }),
    ),
  });
  const web = await until('web applied in the remote namespace', () => get(CONFIGMAPS, remoteNs, 'web'));
  assert.equal(web.data.value, 'two', 'the last verified revision');
  await until('shop-remote Ready', async () =>
    hasCondition(await get(RESOURCES.kustomization, NS, 'shop-remote'), 'Ready', 'True'),
  );
  await cp.kubectlOk(['delete', 'kustomizations.kustomize.toolkit.fluxcd.io', '-n', NS, 'shop-remote', '--wait=false']);
  await until(
    'shop-remote finalized',
    async () =>
      kubeStatusOf(await get(RESOURCES.kustomization, NS, 'shop-remote').catch((error: unknown) => error)) === 404,
  );
  assert.equal(
    kubeStatusOf(await get(CONFIGMAPS, remoteNs, 'web').catch((error: unknown) => error)),
    404,
    'pruned there',
  );
  const token = /token: *"?([^"\s]+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1];
  assert.ok(token !== undefined && token.length > 20);
  assert.ok(!controller.logs().some((line) => line.includes(token)), 'the token never reaches the logs');
  assert.ok(controller.logs().some((line) => line.includes(`"remoteClusters":["${new URL(cp.url).host}"]`)));
});

test('4. delete the Kustomization, then the OCIRepository: its objects are deleted (prune: true), then both objects go', async () => {
  const ks = await get(RESOURCES.kustomization, NS, 'shop');
  assert.deepEqual(ks.metadata.finalizers, ['finalizers.pinwarden.dev']);
  assert.deepEqual((await get(RESOURCES.ociRepository, NS, 'shop')).metadata.finalizers, ['finalizers.pinwarden.dev']);
  const applied = (ks.status.inventory.entries as Array<{ id: string }>).map((entry) => entry.id.split('_')[1]!);
  assert.ok(applied.length > 0);
  const missing = (resource: Parameters<typeof objectPath>[0], name: string) => async () =>
    kubeStatusOf(await get(resource, NS, name).catch((error: unknown) => error)) === 404;
  await cp.kubectlOk(['delete', 'kustomizations.kustomize.toolkit.fluxcd.io', '-n', NS, 'shop', '--wait=false']);
  await until('the Kustomization gone', missing(RESOURCES.kustomization, 'shop'));
  for (const name of applied) assert.ok(await missing(CONFIGMAPS, name)(), `${name} deleted with it`);
  await cp.kubectlOk(['delete', 'ocirepositories.source.toolkit.fluxcd.io', '-n', NS, 'shop', '--wait=false']);
  await until('the OCIRepository gone', missing(RESOURCES.ociRepository, 'shop'));
});
