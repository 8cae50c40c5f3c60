// Issue #10 items 3 and 5 on the real control plane with a real docker-registry and real (key-based cosign)
// signatures: reconcile to Ready with Flux's status, one HEAD and no download when nothing changed, a bad
// signature stores nothing and says why, a registry that is down keeps the last good artifact with FetchFailed.
// Fetch and extraction go through the pull flow (src/flows pullArtifact), as in `pinwarden controller`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../../../../src/core/policy/index.ts';
import { packArtifact, pushArtifact } from '../../../../src/artifact/index.ts';
import { createKubeApi, kubeStatusOf, objectPath, RESOURCES } from '../../../../src/kube/index.ts';
import type { KubeApi, KubeObject } from '../../../../src/kube/index.ts';
import { HttpRepository } from '../../../../src/oci/index.ts';
import type { Descriptor } from '../../../../src/oci/index.ts';
import { createArtifactStore } from '../../../../src/controller/index.ts';
import type { ArtifactStore } from '../../../../src/controller/index.ts';
import type { ControllerManager } from '../../../../src/controller/runtime/index.ts';
import { startControlPlane } from '../../../support/control-plane.ts';
import { namespaceWithCosignKey, startOciRepositoryManager } from '../../../support/controller.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import { startRegistry } from '../../../helpers/registry.ts';
import type { TestRegistry } from '../../../helpers/registry.ts';
import { attachLegacy, legacySignature } from '../../../helpers/sigstore-fixtures-sign.ts';
import { PLATFORM_KEY, PLATFORM_KEY_FINGERPRINT } from '../../../helpers/trust.ts';

let cp: ControlPlane;
let registry: TestRegistry;
let api: KubeApi;
let store: ArtifactStore;
let manager: ControllerManager;
let dir: string;
let registryStopped = false;
const call = () => ({ signal: AbortSignal.timeout(20_000) });

before(async () => {
  [cp, registry] = await Promise.all([startControlPlane(), startRegistry()]);
  api = createKubeApi({ config: cp.kubeConfig() });
  dir = mkdtempSync(join(tmpdir(), 'pw-ctrl-'));
  store = createArtifactStore({ root: join(dir, 'store') });
  await store.open();
  const policy = loadPolicy(
    `apiVersion: pinwarden.dev/v1alpha1
kind: SourcePolicy
metadata: {name: controller-test}
spec:
  ociRepository:
    requireVerify: true
    allowKeyBased: true
    trustedKeys: ["${PLATFORM_KEY_FINGERPRINT}"]
    requireTlogForKeys: false
    allowedRegistries: ["oci://${registry.host}/"]
    allowInsecure: true
  registry: {timeoutSeconds: 5, allowNetworks: ["127.0.0.0/8"]}
`,
    'controller-test.yaml',
  );
  manager = await startOciRepositoryManager({
    cp,
    api,
    store,
    policy,
    backoff: { baseMs: 200, maxMs: 2000 },
    repositoryOptions: { retry: { attempts: 1 } } as never,
    verifyTtlMs: { positive: 1, negative: 1 },
  });
});
after(async () => {
  await manager?.stop(5000);
  await Promise.all([cp?.stop(), registryStopped ? undefined : registry?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
async function namespace(): Promise<string> {
  return namespaceWithCosignKey(cp, `oci-${++counter}`);
}

async function push(
  repo: string,
  tag: string,
  files: Record<string, string>,
  signer = PLATFORM_KEY,
): Promise<Descriptor> {
  const source = mkdtempSync(join(dir, 'src-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(source, name), content);
  const repository = HttpRepository.fromUrl(`oci://${registry.host}/${repo}`, { insecure: true });
  const packed = await packArtifact({
    path: source,
    source: 'https://github.com/acme/fleet',
    revision: 'main@sha1:0123456789abcdef0123456789abcdef01234567',
  });
  const descriptor = await pushArtifact(repository, packed, tag, call());
  await attachLegacy(repository, descriptor, [legacySignature(signer, `${registry.host}/${repo}`, descriptor.digest)]);
  return descriptor;
}

function ociRepository(ns: string, name: string, repo: string, ref: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name, namespace: ns },
    spec: {
      url: `oci://${registry.host}/${repo}`,
      interval: '10m',
      insecure: true,
      ref,
      verify: { provider: 'cosign', secretRef: { name: 'cosign-pub' } },
    },
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- status fields are asserted one by one
async function live(ns: string, name: string): Promise<KubeObject & { status?: any }> {
  return api.request({ method: 'GET', path: objectPath(RESOURCES.ociRepository, ns, name) });
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
const condition = (object: { status?: any }, type: string) =>
  (object.status?.conditions ?? []).find((entry: { type: string }) => entry.type === type);

test("a signed artifact reconciles to Ready with Flux's status, an Event, and its files in the store", async () => {
  const ns = await namespace();
  const pushed = await push('apps/one', 'v1', {
    'app.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n',
  });
  await cp.kubectlOk(['apply', '-f', '-'], { input: ociRepository(ns, 'one', 'apps/one', { tag: 'v1' }) });
  const ready = await until('Ready', async () => {
    const object = await live(ns, 'one');
    return condition(object, 'Ready')?.status === 'True' && object;
  });
  const artifact = ready.status.artifact;
  assert.equal(artifact.revision, `v1@${pushed.digest}`);
  assert.equal(artifact.digest, pushed.digest);
  assert.equal(artifact.metadata['org.opencontainers.image.source'], 'https://github.com/acme/fleet');
  assert.ok(artifact.size > 0 && typeof artifact.lastUpdateTime === 'string');
  assert.equal(condition(ready, 'Ready').reason, 'Succeeded');
  assert.equal(condition(ready, 'Ready').message, `stored artifact for digest 'v1@${pushed.digest}'`);
  assert.equal(condition(ready, 'ArtifactInStorage').status, 'True');
  assert.equal(condition(ready, 'SourceVerified').status, 'True');
  assert.equal(condition(ready, 'SourceVerified').message, `verified signature of revision v1@${pushed.digest}`);
  assert.equal(condition(ready, 'Reconciling'), undefined);
  assert.equal(ready.status.observedGeneration, ready.metadata.generation);
  const directory = await store.directoryFor(artifact.digest);
  assert.match(readFileSync(join(directory!, 'app.yaml'), 'utf8'), /kind: ConfigMap/);
  // The Event is recorded after the status write, so it may land a moment after Ready is seen.
  const newArtifact = await until('a NewArtifact event', async () => {
    const events = await api.request<{
      items: Array<{ reason: string; message: string; involvedObject: { name: string } }>;
    }>({ method: 'GET', path: `/api/v1/namespaces/${ns}/events` });
    return events.items.find((event) => event.reason === 'NewArtifact');
  });
  assert.equal(
    newArtifact.message,
    `stored artifact with revision 'v1@${pushed.digest}' from 'oci://${registry.host}/apps/one', origin source 'https://github.com/acme/fleet', origin revision 'main@sha1:0123456789abcdef0123456789abcdef01234567'`,
  );

  // Unchanged digest, verified and stored: the next reconcile is one HEAD and no download.
  const before = registry.requestLog.length;
  const rv = ready.metadata.resourceVersion;
  manager.enqueue('OCIRepository', ns, 'one');
  const ofOne = () => registry.requestLog.slice(before).filter((entry) => entry.path.startsWith('/v2/apps/one/'));
  await until('the HEAD', async () => ofOne().some((entry) => entry.method === 'HEAD'));
  await new Promise((resolve) => setTimeout(resolve, 500));
  // Only this object's repository: objects of other tests may be requeued in the same window.
  const requests = ofOne().map((entry) => `${entry.method} ${entry.path.replace(/sha256:[a-f0-9]{64}/, 'D')}`);
  assert.deepEqual(requests, ['HEAD /v2/apps/one/manifests/v1'], 'exactly one HEAD, no GET');
  assert.equal((await live(ns, 'one')).metadata.resourceVersion, rv, 'an unchanged reconcile writes no status');
});

test('a bad signature: nothing stored, SourceVerified=False and Ready=False say why', async () => {
  const ns = await namespace();
  const intruder = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pushed = await push('apps/bad', 'v1', { 'app.yaml': 'kind: ConfigMap\n' }, intruder);
  await cp.kubectlOk(['apply', '-f', '-'], { input: ociRepository(ns, 'bad', 'apps/bad', { tag: 'v1' }) });
  const failed = await until('Ready=False', async () => {
    const object = await live(ns, 'bad');
    return condition(object, 'Ready')?.status === 'False' && object;
  });
  assert.equal(condition(failed, 'SourceVerified').status, 'False');
  assert.equal(condition(failed, 'SourceVerified').reason, 'VerificationError');
  assert.match(
    condition(failed, 'SourceVerified').message,
    /^failed to verify the signature using provider 'cosign': /,
  );
  assert.equal(condition(failed, 'Ready').reason, 'VerificationError');
  assert.equal(failed.status.artifact, undefined);
  assert.equal(store.has(pushed.digest), false, 'nothing stored');
});

test('precedence: a digest ref gives revision sha256:…, semver picks the highest match (filter applied), digest beats semver', async () => {
  const ns = await namespace();
  const one = await push('apps/versions', '1.0.0', { 'a.yaml': 'v: 1\n' });
  const two = await push('apps/versions', '1.2.0', { 'a.yaml': 'v: 2\n' });
  await push('apps/versions', '2.0.0-rc.1', { 'a.yaml': 'v: 3\n' });
  await push('apps/versions', '1.3.0-hotfix', { 'a.yaml': 'v: 4\n' });
  const ready = (name: string) =>
    until(`${name} Ready`, async () => {
      const object = await live(ns, name);
      return condition(object, 'Ready')?.status === 'True' && object;
    });
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: ociRepository(ns, 'by-digest', 'apps/versions', { digest: one.digest }),
  });
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: ociRepository(ns, 'by-semver', 'apps/versions', {
      semver: '>=1.0.0 <2.0.0',
      semverFilter: '^1\\.[0-9]+\\.[0-9]+$',
    }),
  });
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: ociRepository(ns, 'both', 'apps/versions', { digest: one.digest, semver: '>=1.0.0', tag: '1.2.0' }),
  });
  assert.equal((await ready('by-digest')).status.artifact.revision, one.digest);
  assert.equal((await ready('by-semver')).status.artifact.revision, `1.2.0@${two.digest}`);
  assert.equal((await ready('both')).status.artifact.revision, one.digest, 'digest > semver > tag');
});

test('a policy denial stalls the object before any registry call; a tag in the URL is URLInvalid, also stalled', async () => {
  const ns = await namespace();
  const before = registry.requestLog.length;
  const foreign = JSON.parse(ociRepository(ns, 'foreign', 'apps/never-fetched', { tag: 'v1' }));
  foreign.spec.url = 'oci://registry.example.com/apps/never-fetched';
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(foreign) });
  const denied = await until('denied', async () => {
    const object = await live(ns, 'foreign');
    return condition(object, 'Stalled')?.status === 'True' && object;
  });
  assert.equal(condition(denied, 'Ready').status, 'False');
  assert.equal(condition(denied, 'Ready').reason, 'PolicyDenied');
  assert.match(condition(denied, 'Ready').message, /registry/);
  assert.equal(condition(denied, 'Stalled').reason, 'PolicyDenied');
  assert.equal(
    denied.status.observedGeneration,
    denied.metadata.generation,
    'a stalled object has observed its generation',
  );
  const tagged = JSON.parse(ociRepository(ns, 'tagged', 'apps/never-fetched', { tag: 'v1' }));
  tagged.spec.url = `oci://${registry.host}/apps/never-fetched:v1`;
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(tagged) });
  const invalid = await until('URLInvalid', async () => {
    const object = await live(ns, 'tagged');
    return condition(object, 'Stalled')?.status === 'True' && object;
  });
  assert.equal(condition(invalid, 'FetchFailed').reason, 'URLInvalid');
  assert.equal(condition(invalid, 'Ready').reason, 'URLInvalid');
  assert.match(condition(invalid, 'Ready').message, /URL must not contain a tag; remove ':v1'/);
  // Objects of other tests may be requeued meanwhile, so count only requests for this test's repository.
  const ours = registry.requestLog.slice(before).filter((entry) => entry.path.includes('/apps/never-fetched'));
  assert.deepEqual(ours, [], 'no registry request for either');
});

test("deletion: pinwarden's finalizer, the stored artifact dropped once no other OCIRepository names it, a suspended one only gets the finalizer", async () => {
  const ns = await namespace();
  const pushed = await push('apps/deleted', 'v1', { 'app.yaml': 'kind: ConfigMap\n' });
  const other = await push('apps/deleted', 'v2', { 'app.yaml': 'kind: Secret\n' });
  for (const name of ['first', 'second'])
    await cp.kubectlOk(['apply', '-f', '-'], { input: ociRepository(ns, name, 'apps/deleted', { tag: 'v1' }) });
  await cp.kubectlOk(['apply', '-f', '-'], { input: ociRepository(ns, 'third', 'apps/deleted', { tag: 'v2' }) });
  const ready = (name: string) =>
    until(`${name} Ready`, async () => {
      const object = await live(ns, name);
      return condition(object, 'Ready')?.status === 'True' && object;
    });
  for (const name of ['first', 'second', 'third'])
    assert.deepEqual((await ready(name)).metadata.finalizers, ['finalizers.pinwarden.dev']);
  const directory = (await store.directoryFor(pushed.digest))!;
  assert.ok(existsSync(directory));
  const goneFromApi = (name: string) =>
    until(`${name} gone`, async () =>
      api.request({ method: 'GET', path: objectPath(RESOURCES.ociRepository, ns, name) }).then(
        () => false,
        (error: unknown) => kubeStatusOf(error) === 404,
      ),
    );

  // Two objects share one stored artifact: deleting the first keeps it for the second.
  await cp.kubectlOk(['delete', 'ocirepository', '-n', ns, 'first', '--wait=false']);
  await goneFromApi('first');
  assert.ok(store.has(pushed.digest) && existsSync(directory), 'still named by second');
  await cp.kubectlOk(['delete', 'ocirepository', '-n', ns, 'second', '--wait=false']);
  await goneFromApi('second');
  assert.equal(store.has(pushed.digest), false, 'dropped with the last object naming it');
  assert.equal(existsSync(directory), false, 'its directory is gone');
  assert.equal(manager.queue.failures(`OCIRepository/${ns}/second`), 0);
  // Flux's garbage-collection Event, recorded before the finalizer goes: for second (its artifact removed), not
  // for first (the artifact was kept for second).
  const gcEvents = async () =>
    (
      await api.request<{
        items: Array<{ type: string; reason: string; message: string; involvedObject: { kind: string; name: string } }>;
      }>({ method: 'GET', path: `/api/v1/namespaces/${ns}/events` })
    ).items.filter((event) => event.reason.startsWith('GarbageCollection'));
  const collected = await until('a GarbageCollectionSucceeded event for second', async () =>
    (await gcEvents()).find((event) => event.involvedObject.name === 'second'),
  );
  assert.deepEqual(
    [collected.type, collected.reason, collected.message, collected.involvedObject.kind],
    ['Normal', 'GarbageCollectionSucceeded', 'garbage collected artifacts for deleted resource', 'OCIRepository'],
  );
  assert.deepEqual(
    (await gcEvents()).filter((event) => event.involvedObject.name === 'first'),
    [],
    'no event when the artifact is kept',
  );

  // Someone removed our finalizer by hand before deleting: the informer sees it go and the artifact goes too.
  const otherDirectory = (await store.directoryFor(other.digest))!;
  await cp.kubectlOk([
    'patch',
    'ocirepository',
    '-n',
    ns,
    'third',
    '--type=merge',
    '-p',
    '{"metadata":{"finalizers":null}}',
  ]);
  await cp.kubectlOk(['delete', 'ocirepository', '-n', ns, 'third']);
  await until('the artifact of third dropped', async () => !store.has(other.digest) && !existsSync(otherDirectory));

  // Suspended from the start: the finalizer is ensured, then nothing (no registry call, no status).
  const before = registry.requestLog.length;
  const suspended = JSON.parse(ociRepository(ns, 'paused', 'apps/paused', { tag: 'v1' }));
  suspended.spec.suspend = true;
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(suspended) });
  const paused = await until('the finalizer on paused', async () => {
    const object = await live(ns, 'paused');
    return (object.metadata.finalizers as string[] | undefined)?.includes('finalizers.pinwarden.dev') && object;
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(paused.status?.artifact, undefined);
  assert.equal((await live(ns, 'paused')).status?.conditions, undefined, 'no status written');
  assert.deepEqual(
    registry.requestLog.slice(before).filter((entry) => entry.path.startsWith('/v2/apps/paused/')),
    [],
  );
});

test('admission refuses the finalizer patch: the object still reconciles to Ready, and its artifact goes when it does', async () => {
  // A ValidatingAdmissionPolicy (CEL, in the apiserver) refusing every UPDATE of an OCIRepository named `refused`.
  const policy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: 'refuse-updates' },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['source.toolkit.fluxcd.io'],
            apiVersions: ['*'],
            operations: ['UPDATE'],
            resources: ['ocirepositories'],
          },
        ],
      },
      validations: [{ expression: "object.metadata.name != 'refused'", message: 'updates of refused are refused' }],
    },
  };
  const binding = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: 'refuse-updates' },
    spec: { policyName: 'refuse-updates', validationActions: ['Deny'] },
  };
  const probe = await namespace();
  await cp.kubectlOk(['apply', '-f', '-'], { input: ociRepository(probe, 'refused', 'apps/probe', { tag: 'v1' }) });
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(policy) });
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(binding) });
  await until('the policy in force', async () => {
    const result = await cp.kubectl(['label', 'ocirepository', '-n', probe, 'refused', 'probe=1', '--dry-run=server']);
    return result.code !== 0 && /updates of refused are refused/.test(result.stderr);
  });

  const ns = await namespace();
  const pushed = await push('apps/refused', 'v1', { 'app.yaml': 'kind: ConfigMap\n' });
  await cp.kubectlOk(['apply', '-f', '-'], { input: ociRepository(ns, 'refused', 'apps/refused', { tag: 'v1' }) });
  const ready = await until('Ready without the finalizer', async () => {
    const object = await live(ns, 'refused');
    return condition(object, 'Ready')?.status === 'True' && object;
  });
  assert.equal(ready.metadata.finalizers, undefined, 'admission refused the finalizer');
  assert.ok(store.has(pushed.digest));
  await cp.kubectlOk(['delete', 'ocirepository', '-n', ns, 'refused']);
  await until('the artifact dropped when the object went', async () => !store.has(pushed.digest));
  await cp.kubectlOk(['delete', 'validatingadmissionpolicybinding', 'refuse-updates']);
  await cp.kubectlOk(['delete', 'validatingadmissionpolicy', 'refuse-updates']);
});

test('registry down: the last good artifact stays stored and in status, FetchFailed is set, nothing deleted', async () => {
  const ns = await namespace();
  const pushed = await push('apps/down', 'v1', { 'app.yaml': 'kind: ConfigMap\n' });
  await cp.kubectlOk(['apply', '-f', '-'], { input: ociRepository(ns, 'down', 'apps/down', { tag: 'v1' }) });
  const ready = await until('Ready', async () => {
    const object = await live(ns, 'down');
    return condition(object, 'Ready')?.status === 'True' && object;
  });
  // The registry goes down (the last test of the file), then the object is reconciled again.
  await registry.stop();
  registryStopped = true;
  manager.enqueue('OCIRepository', ns, 'down');
  const failing = await until('FetchFailed', async () => {
    const object = await live(ns, 'down');
    return condition(object, 'FetchFailed')?.status === 'True' && object;
  });
  assert.equal(condition(failing, 'Ready').status, 'False');
  assert.equal(condition(failing, 'Ready').reason, condition(failing, 'FetchFailed').reason);
  assert.match(condition(failing, 'FetchFailed').message, /^failed to determine artifact digest: /);
  assert.deepEqual(
    failing.status.artifact,
    ready.status.artifact,
    'the last good artifact is still the status artifact',
  );
  assert.ok(await store.directoryFor(pushed.digest), 'and still stored');
});
