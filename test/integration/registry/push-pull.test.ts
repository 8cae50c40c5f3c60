// Protocol behaviour against Debian's real docker-registry (distribution 2.8): push a Flux artifact, resolve
// and fetch it back, compare with skopeo, HEAD→GET fallback, tag listing, referrers tag-schema fallback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packArtifact, pushArtifact } from '../../../src/artifact/index.ts';
import {
  HttpRepository,
  MEDIA_TYPES,
  createTokenCache,
  fetchAll,
  parseReference,
  sha256Digest,
} from '../../../src/oci/index.ts';
import type { Descriptor } from '../../../src/oci/index.ts';
import { startCountingProxy } from '../../helpers/counting-proxy.ts';
import type { CountingProxy } from '../../helpers/counting-proxy.ts';
import { startRegistry } from '../../helpers/registry.ts';
import type { TestRegistry } from '../../helpers/registry.ts';
import { call, hasCode, jsonBytes, makeManifestsDir, readTarGz } from './fixtures.ts';

let registry: TestRegistry;
let proxy: CountingProxy;
let manifests: Awaited<ReturnType<typeof makeManifestsDir>>;
const repos: HttpRepository[] = [];

function open(host: string, path = 'flux/app'): HttpRepository {
  const repo = new HttpRepository(parseReference(`oci://${host}/${path}`), {
    insecure: true,
    tokenCache: createTokenCache(),
  });
  repos.push(repo);
  return repo;
}

before(async () => {
  registry = await startRegistry({ mode: 'plain' });
  proxy = await startCountingProxy(registry.url);
  manifests = await makeManifestsDir();
});

after(async () => {
  for (const repo of repos) repo.close();
  await proxy?.stop();
  await registry?.stop();
  await manifests?.cleanup();
});

test('push a Flux artifact, then resolve and fetch it back digest-checked', async () => {
  const repo = open(registry.host);
  const artifact = await packArtifact({
    path: manifests.dir,
    source: 'https://github.com/acme/fleet',
    revision: 'main@sha1:0123abc',
    reproducible: true,
  });
  const pushed = await pushArtifact(repo, artifact, 'v1.0.0', call());
  assert.equal(pushed.digest, artifact.manifest.descriptor.digest);

  assert.deepEqual(await repo.resolve('v1.0.0', call()), {
    mediaType: MEDIA_TYPES.ociManifest,
    digest: pushed.digest,
    size: pushed.size,
  });
  const fetched = await repo.fetchManifest(pushed.digest, call());
  assert.deepEqual(fetched.bytes, artifact.manifest.bytes);
  const manifest = JSON.parse(new TextDecoder().decode(fetched.bytes)) as {
    config: Descriptor;
    layers: Descriptor[];
    annotations: Record<string, string>;
  };
  assert.equal(manifest.config.mediaType, 'application/vnd.cncf.flux.config.v1+json');
  assert.equal(manifest.layers.length, 1);
  assert.equal(manifest.layers[0]?.mediaType, 'application/vnd.cncf.flux.content.v1.tar+gzip');
  assert.deepEqual(manifest.annotations, {
    'org.opencontainers.image.created': '1970-01-01T00:00:00Z',
    'org.opencontainers.image.revision': 'main@sha1:0123abc',
    'org.opencontainers.image.source': 'https://github.com/acme/fleet',
  });

  const config = JSON.parse(new TextDecoder().decode(await fetchAll(repo, manifest.config, call()))) as {
    created: string;
    rootfs: { diff_ids: string[] };
  };
  assert.equal(config.created, '1970-01-01T00:00:00Z');
  const layer = await fetchAll(repo, manifest.layers[0], call());
  const entries = await readTarGz(layer);
  assert.deepEqual(
    entries.map((e) => e.name),
    ['.', 'apps', 'apps/web', 'apps/web/deploy.yaml', 'apps/web/run.sh', 'kustomization.yaml'],
  );
  assert.ok(entries.every((e) => e.uid === 0 && e.gid === 0 && e.uname === '' && e.gname === '' && e.mtime === 0));
  assert.equal(entries.find((e) => e.name === 'apps/web/run.sh')?.mode, 0o755);
  assert.equal(entries.find((e) => e.name === 'kustomization.yaml')?.content, 'resources: [apps/web/deploy.yaml]\n');
});

test('pushing the same content again gives the same digest (reproducible) and skips existing blobs', async () => {
  const repo = open(proxy.host);
  const artifact = await packArtifact({ path: manifests.dir, source: 's', revision: 'r', reproducible: true });
  const first = await pushArtifact(repo, artifact, 'same-1', call());
  proxy.reset();
  const again = await pushArtifact(
    repo,
    await packArtifact({ path: manifests.dir, source: 's', revision: 'r', reproducible: true }),
    'same-2',
    call(),
  );
  assert.equal(again.digest, first.digest);
  assert.equal(proxy.countPrefix('POST '), 0, 'no upload started for blobs that exist');
});

test('our digest equals skopeo’s, for a Flux artifact and for a plain image', async () => {
  const repo = open(registry.host, 'skopeo/check');
  const artifact = await packArtifact({ path: manifests.dir, source: 'https://x', revision: 'v1', reproducible: true });
  await pushArtifact(repo, artifact, 'artifact', call());
  const ours = (await repo.resolve('artifact', call())).digest;
  // skopeo refuses to "inspect" non-image artifacts, so it fetches the raw manifest and digests it itself.
  const raw = execFileSync('skopeo', [
    'inspect',
    '--raw',
    '--tls-verify=false',
    `docker://${registry.host}/skopeo/check:artifact`,
  ]);
  const work = mkdtempSync(join(tmpdir(), 'pinwarden-skopeo-'));
  try {
    writeFileSync(join(work, 'manifest.json'), raw);
    assert.equal(
      execFileSync('skopeo', ['manifest-digest', join(work, 'manifest.json')], { encoding: 'utf8' }).trim(),
      ours,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const imageConfig = await repo.pushBlob(
    jsonBytes({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} }),
    'application/vnd.oci.image.config.v1+json',
    call(),
  );
  const image = await repo.pushManifest(
    jsonBytes({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: imageConfig, layers: [] }),
    MEDIA_TYPES.ociManifest,
    'image',
    call(),
  );
  const skopeo = execFileSync(
    'skopeo',
    ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${registry.host}/skopeo/check:image`],
    { encoding: 'utf8' },
  ).trim();
  assert.equal(skopeo, image.digest);
  assert.equal((await repo.resolve('image', call())).digest, skopeo);
});

test('HEAD without Docker-Content-Digest, or refused, falls back to GET and hashes the bytes', async () => {
  const direct = open(registry.host, 'fallback/app');
  const pushed = await pushArtifact(
    direct,
    await packArtifact({ path: manifests.dir, source: 's', revision: 'r', reproducible: true }),
    'v1',
    call(),
  );
  const path = '/v2/fallback/app/manifests/v1';
  const viaProxy = open(proxy.host, 'fallback/app');

  proxy.reset();
  proxy.tamper = (method) =>
    method === 'HEAD' ? { rewriteHeaders: ({ 'docker-content-digest': _dropped, ...rest }) => rest } : undefined;
  assert.equal((await viaProxy.resolve('v1', call())).digest, pushed.digest);
  assert.deepEqual([proxy.count('HEAD', path), proxy.count('GET', path)], [1, 1]);

  proxy.reset();
  proxy.tamper = (method) => (method === 'HEAD' ? { respond: { status: 405 } } : undefined);
  assert.deepEqual(await viaProxy.resolve('v1', call()), pushed);
  assert.deepEqual([proxy.count('HEAD', path), proxy.count('GET', path)], [1, 1]);
  proxy.tamper = undefined;

  proxy.reset();
  await viaProxy.resolve('v1', call());
  assert.deepEqual([proxy.count('HEAD', path), proxy.count('GET', path)], [1, 0], 'a complete HEAD is enough');
});

test('a missing tag is PW_MANIFEST_UNKNOWN after exactly one request (404 is never retried)', async () => {
  const repo = open(proxy.host, 'flux/app');
  proxy.reset();
  await assert.rejects(repo.resolve('does-not-exist', call()), hasCode('PW_MANIFEST_UNKNOWN', /MANIFEST_UNKNOWN/));
  assert.equal(proxy.countPrefix('HEAD /v2/flux/app/manifests/'), 1);
  assert.equal(proxy.countPrefix('GET '), 0);
  await assert.rejects(
    repo.fetchManifest('does-not-exist', call()),
    hasCode('PW_MANIFEST_UNKNOWN', /: 404 MANIFEST_UNKNOWN$/),
  );
});

test('tags: every tag is listed; the page size is sent as ?n= (registry 2.8 answers in one page)', async () => {
  const repo = open(registry.host, 'many/tags');
  const config = await repo.pushBlob(jsonBytes({}), MEDIA_TYPES.ociEmpty, call());
  const manifest = jsonBytes({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers: [] });
  const wanted = Array.from({ length: 25 }, (_, i) => `v1.0.${i}`);
  for (const tag of wanted) await repo.pushManifest(manifest, MEDIA_TYPES.ociManifest, tag, call());
  const paged = new HttpRepository(parseReference(`oci://${proxy.host}/many/tags`), { insecure: true, pageSize: 10 });
  repos.push(paged);
  const listed: string[] = [];
  for await (const tag of paged.tags(call())) listed.push(tag);
  assert.deepEqual(listed.sort(), [...wanted].sort());
});

test('referrers: without a referrers API, the sha256-<hex> tag schema index is read and filtered', async () => {
  const repo = open(registry.host, 'signed/app');
  const subject = await pushArtifact(
    repo,
    await packArtifact({ path: manifests.dir, source: 's', revision: 'r', reproducible: true }),
    'v1',
    call(),
  );
  assert.deepEqual(await repo.referrers(subject, undefined, call()), [], 'no referrers tag → none');

  const empty = await repo.pushBlob(jsonBytes({}), MEDIA_TYPES.ociEmpty, call());
  const bundle = await repo.pushBlob(
    jsonBytes({ mediaType: MEDIA_TYPES.sigstoreBundleV03 }),
    MEDIA_TYPES.sigstoreBundleV03,
    call(),
  );
  const referrerBytes = jsonBytes({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: MEDIA_TYPES.sigstoreBundleV03,
    config: empty,
    layers: [bundle],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  });
  const referrer = await repo.pushManifest(referrerBytes, MEDIA_TYPES.ociManifest, undefined, call());
  const entry = {
    ...referrer,
    artifactType: MEDIA_TYPES.sigstoreBundleV03,
    annotations: { 'dev.sigstore.bundle.predicateType': 'x' },
  };
  const index = jsonBytes({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [entry] });
  await repo.pushManifest(index, MEDIA_TYPES.ociIndex, subject.digest.replace(':', '-'), call());

  assert.deepEqual(await repo.referrers(subject, undefined, call()), [entry]);
  assert.deepEqual(await repo.referrers(subject, MEDIA_TYPES.sigstoreBundleV03, call()), [entry]);
  assert.deepEqual(await repo.referrers(subject, 'application/vnd.example.other', call()), []);
});

test('blob caps are enforced before any download', async () => {
  const repo = open(proxy.host, 'flux/app');
  proxy.reset();
  const descriptor: Descriptor = { mediaType: 'x', digest: sha256Digest(new Uint8Array(10)), size: 10 };
  await assert.rejects(fetchAll(repo, descriptor, call(), 9), hasCode('PW_TOO_LARGE'));
  assert.equal(proxy.counts.size, 0);
});
