// Issue #10 item 7, malicious artifacts through the controller: each crafted layer is signed with the trusted
// key, so verification passes and only the pull flow's extraction rules can stop it. The OCIRepository then
// reports FetchFailed / Ready=False with the rule, nothing is stored and nothing lands outside the store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadPolicy } from '../../../../src/core/policy/index.ts';
import { createKubeApi, objectPath, RESOURCES } from '../../../../src/kube/index.ts';
import type { KubeApi } from '../../../../src/kube/index.ts';
import { HttpRepository, MEDIA_TYPES } from '../../../../src/oci/index.ts';
import type { Descriptor } from '../../../../src/oci/index.ts';
import { createArtifactStore } from '../../../../src/controller/index.ts';
import type { ArtifactStore } from '../../../../src/controller/index.ts';
import type { ControllerManager } from '../../../../src/controller/runtime/index.ts';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import {
  controllerPolicy,
  namespaceWithCosignKey,
  startOciRepositoryManager,
  ociRepositoryYaml,
} from '../../../support/controller.ts';
import { startRegistry } from '../../../helpers/registry.ts';
import type { TestRegistry } from '../../../helpers/registry.ts';
import { attachLegacy, legacySignature } from '../../../helpers/sigstore-fixtures-sign.ts';
import { tarGz, tarHeader } from '../../../helpers/tarballs.ts';
import type { CraftedEntry } from '../../../helpers/tarballs.ts';
import { PLATFORM_KEY } from '../../../helpers/trust.ts';

let cp: ControlPlane;
let registry: TestRegistry;
let api: KubeApi;
let store: ArtifactStore;
let manager: ControllerManager;
let dir: string;
let outside: string;
const call = () => ({ signal: AbortSignal.timeout(30_000) });

before(async () => {
  [cp, registry] = await Promise.all([startControlPlane(), startRegistry()]);
  api = createKubeApi({ config: cp.kubeConfig() });
  dir = mkdtempSync(join(tmpdir(), 'pw-malicious-'));
  outside = join(dir, 'outside');
  store = createArtifactStore({ root: join(dir, 'store') });
  await store.open();
  const policy = loadPolicy(controllerPolicy(registry.host), 'policy.yaml');
  // A long backoff: each case is judged on its first failure.
  manager = await startOciRepositoryManager({ cp, api, store, policy, backoff: { baseMs: 60_000, maxMs: 60_000 } });
  await namespaceWithCosignKey(cp, 'evil');
});
after(async () => {
  await manager?.stop(5000);
  await Promise.all([cp?.stop(), registry?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A Flux-shaped artifact whose layer is exactly `layer`, signed with the trusted key, tagged `v1` in `repo`. */
async function pushSignedLayer(repo: string, layer: Uint8Array): Promise<Descriptor> {
  const repository = HttpRepository.fromUrl(`oci://${registry.host}/${repo}`, { insecure: true });
  const config = await repository.pushBlob(new TextEncoder().encode('{}'), MEDIA_TYPES.fluxConfig, call());
  const layerDescriptor = await repository.pushBlob(layer, MEDIA_TYPES.fluxContent, call());
  const manifest = await repository.pushManifest(
    new TextEncoder().encode(
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers: [layerDescriptor] }),
    ),
    MEDIA_TYPES.ociManifest,
    'v1',
    call(),
  );
  await attachLegacy(repository, manifest, [
    legacySignature(PLATFORM_KEY, `${registry.host}/${repo}`, manifest.digest),
  ]);
  return manifest;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- status fields are asserted one by one
async function settled(name: string): Promise<any> {
  const end = Date.now() + 60_000;
  for (;;) {
    const object = await api.request<{ status?: { conditions?: Array<{ type: string; status: string }> } }>({
      method: 'GET',
      path: objectPath(RESOURCES.ociRepository, 'evil', name),
    });
    const ready = object.status?.conditions?.find((condition) => condition.type === 'Ready');
    if (ready && ready.status !== 'Unknown') return object;
    if (Date.now() > end) throw new Error(`${name} did not settle`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function refused(name: string, layer: Uint8Array, reason: string, message: RegExp): Promise<void> {
  const manifest = await pushSignedLayer(`evil/${name}`, layer);
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: ociRepositoryYaml(registry.host, 'evil', name, `evil/${name}`, { tag: 'v1' }),
  });
  const object = await settled(name);
  const ready = object.status.conditions.find((condition: { type: string }) => condition.type === 'Ready');
  const fetchFailed = object.status.conditions.find((condition: { type: string }) => condition.type === 'FetchFailed');
  assert.equal(ready.status, 'False');
  assert.equal(
    object.status.conditions.find((condition: { type: string }) => condition.type === 'SourceVerified')?.status,
    'True',
    'the signature itself was good',
  );
  assert.equal(fetchFailed?.reason, reason);
  assert.match(fetchFailed.message, message);
  assert.equal(object.status.artifact, undefined);
  assert.equal(store.has(manifest.digest), false, 'nothing stored');
  assert.deepEqual(
    readdirSync(join(dir, 'store', 'tmp')).filter((entry) => !entry.startsWith('.')),
    [],
    'nothing left half-extracted',
  );
}

const crafted = (entries: CraftedEntry[]) => tarGz(entries);

test('an absolute path is refused', async () =>
  refused(
    'absolute',
    await crafted([
      { name: 'ok.yaml', content: 'a: 1\n' },
      { name: '/etc/cron.d/pinwarden-test', content: 'x' },
    ]),
    'OCIArtifactLayerOperationFailed',
    /is an absolute path/,
  ));

test("a '..' path is refused", async () =>
  refused(
    'dotdot',
    await crafted([
      { name: 'ok.yaml', content: 'a: 1\n' },
      { name: 'apps/../../../escape.yaml', content: 'x: 1\n' },
    ]),
    'OCIArtifactLayerOperationFailed',
    /contains '\.\.'/,
  ));

test('a device entry is refused', async () =>
  refused(
    'device',
    await crafted([
      { name: 'ok.yaml', content: 'a: 1\n' },
      { name: 'null', type: 'character-device' },
    ]),
    'OCIArtifactLayerOperationFailed',
    /'null' is a character-device/,
  ));

test('a fifo is refused', async () =>
  refused(
    'fifo',
    await crafted([{ name: 'pipe', type: 'fifo' }]),
    'OCIArtifactLayerOperationFailed',
    /'pipe' is a fifo/,
  ));

test('more entries than the file-count cap are refused', async () =>
  refused(
    'many',
    await crafted(Array.from({ length: 10_050 }, (_, index) => ({ name: `m/${index}.yaml`, content: '' }))),
    'OCIArtifactLayerOperationFailed',
    /more than 10000 entries/,
  ));

test('a zip bomb is stopped by the compression ratio cap', async () => {
  const size = 64 * 1024 * 1024;
  const header = tarHeader('bomb.yaml', size);
  await refused(
    'bomb',
    gzipSync(Buffer.concat([header, Buffer.alloc(size + 1024)]), { level: 9 }),
    'OCIArtifactLayerOperationFailed',
    /compression ratio cap/,
  );
});

test('a truncated gzip layer is refused', async () => {
  const whole = await crafted([
    { name: 'a.yaml', content: 'y'.repeat(50_000) },
    { name: 'b.yaml', content: 'b: 1\n' },
  ]);
  await refused(
    'truncated',
    whole.subarray(0, whole.length - 30),
    'OCIArtifactLayerOperationFailed',
    /not a complete gzip stream/,
  );
});

test('a symlink escaping the root is skipped (as Flux does): the artifact is stored without it and nothing lands outside', async () => {
  const manifest = await pushSignedLayer(
    'evil/symlink',
    await crafted([
      { name: 'escape', type: 'symlink', linkname: outside },
      { name: 'escape/pwned.yaml', content: 'x: 1\n' },
      { name: 'ok.yaml', content: 'a: 1\n' },
    ]),
  );
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: ociRepositoryYaml(registry.host, 'evil', 'symlink', 'evil/symlink', { tag: 'v1' }),
  });
  const object = await settled('symlink');
  assert.equal(existsSync(outside), false, 'nothing written through the link');
  const ready = object.status.conditions.find((condition: { type: string }) => condition.type === 'Ready');
  assert.equal(ready.status, 'True', 'the link is skipped, the rest is stored');
  const directory = await store.directoryFor(manifest.digest);
  assert.ok(directory);
  assert.deepEqual(
    readdirSync(directory, { recursive: true }).map(String).sort(),
    ['escape', 'escape/pwned.yaml', 'ok.yaml'],
    'the entry under the skipped link lands inside the root, as a plain directory',
  );
  assert.equal(lstatSync(join(directory, 'escape')).isSymbolicLink(), false);
});
