import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PinwardenError } from '../../../src/core/errors.ts';
import { ANNOTATIONS, FLUX_DEFAULT_IGNORE, packArtifact, pushArtifact } from '../../../src/artifact/index.ts';
import { MEDIA_TYPES, MemoryRepository, fetchAll, sha256Digest } from '../../../src/oci/index.ts';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinwarden-pack-'));
  await mkdir(join(dir, 'b-dir', 'nested'), { recursive: true });
  await mkdir(join(dir, '.git', 'objects'), { recursive: true });
  await writeFile(join(dir, 'b-dir', 'nested', 'x.yaml'), 'x: 1\n');
  await writeFile(join(dir, 'a.yaml'), 'a: 1\n');
  await writeFile(join(dir, 'C.yaml'), 'c: 1\n', { mode: 0o600 });
  await writeFile(join(dir, '.git', 'config'), '[core]\n');
  await writeFile(join(dir, '.gitignore'), 'tmp/\n');
  await writeFile(join(dir, 'pic.png'), 'png');
  await writeFile(join(dir, 'bundle.tar.gz'), 'gz');
  await writeFile(join(dir, 'notes.txt'), 'keep me');
  await symlink('a.yaml', join(dir, 'link.yaml'));
});

after(() => rm(dir, { recursive: true, force: true }));

/** Entry names and header facts straight from the tar bytes (ustar header fields). */
function tarHeaders(
  gzip: Uint8Array,
): { name: string; mode: number; uid: number; gid: number; mtime: number; uname: string; type: string }[] {
  const tar = gunzipSync(gzip);
  const headers = [];
  const text = (offset: number, length: number) =>
    tar
      .subarray(offset, offset + length)
      .toString('utf8')
      .replace(/\0.*$/s, '');
  const octal = (offset: number, length: number) => parseInt(text(offset, length).trim() || '0', 8);
  for (let offset = 0; offset + 512 <= tar.length && tar[offset] !== 0;) {
    const size = octal(offset + 124, 12);
    headers.push({
      name: text(offset, 100),
      mode: octal(offset + 100, 8),
      uid: octal(offset + 108, 8),
      gid: octal(offset + 116, 8),
      mtime: octal(offset + 136, 12),
      uname: text(offset + 265, 32),
      type: text(offset + 156, 1),
    });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return headers;
}

test('tarball layout follows fluxcd/pkg tar: root ".", byte-ordered depth-first walk, sanitised headers', async () => {
  const artifact = await packArtifact({ path: dir, source: 's', revision: 'r', reproducible: true });
  const headers = tarHeaders(artifact.layer.bytes);
  assert.deepEqual(
    headers.map((h) => h.name),
    ['.', 'C.yaml', 'a.yaml', 'b-dir', 'b-dir/nested', 'b-dir/nested/x.yaml', 'notes.txt'],
  );
  assert.deepEqual(
    headers.map((h) => h.type),
    ['5', '0', '0', '5', '5', '0', '0'],
  );
  assert.ok(headers.every((h) => h.uid === 0 && h.gid === 0 && h.mtime === 0 && h.uname === ''));
  assert.equal(headers.find((h) => h.name === 'C.yaml')?.mode, 0o600);
});

test('same inputs → same digests; the created time otherwise comes from the clock', async () => {
  const one = await packArtifact({ path: dir, source: 's', revision: 'r', reproducible: true });
  const two = await packArtifact({ path: dir, source: 's', revision: 'r', reproducible: true });
  assert.equal(one.manifest.descriptor.digest, two.manifest.descriptor.digest);
  assert.deepEqual(one.layer.bytes, two.layer.bytes);
  const dated = await packArtifact({
    path: dir,
    source: 's',
    revision: 'r',
    now: () => new Date('2026-05-04T03:02:01.999Z'),
  });
  const manifest = JSON.parse(new TextDecoder().decode(dated.manifest.bytes)) as {
    annotations: Record<string, string>;
  };
  assert.equal(manifest.annotations[ANNOTATIONS.created], '2026-05-04T03:02:01Z');
  assert.equal(dated.layer.descriptor.digest, one.layer.descriptor.digest, 'the layer does not depend on the time');
});

test('manifest and config are byte-for-byte what go-containerregistry marshals', async () => {
  const artifact = await packArtifact({
    path: dir,
    source: 'https://github.com/a/b?x=1&y=<2>',
    revision: 'main@sha1:abc',
    reproducible: true,
  });
  const diffId = sha256Digest(gunzipSync(artifact.layer.bytes));
  assert.equal(
    new TextDecoder().decode(artifact.config.bytes),
    `{"architecture":"","created":"1970-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${diffId}"]},"config":{}}`,
  );
  const { config, layer } = artifact;
  assert.equal(
    new TextDecoder().decode(artifact.manifest.bytes),
    `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
      `"config":{"mediaType":"application/vnd.cncf.flux.config.v1+json","size":${config.descriptor.size},"digest":"${config.descriptor.digest}"},` +
      `"layers":[{"mediaType":"application/vnd.cncf.flux.content.v1.tar+gzip","size":${layer.descriptor.size},"digest":"${layer.descriptor.digest}"}],` +
      `"annotations":{"org.opencontainers.image.created":"1970-01-01T00:00:00Z","org.opencontainers.image.revision":"main@sha1:abc",` +
      `"org.opencontainers.image.source":"https://github.com/a/b?x=1\\u0026y=\\u003c2\\u003e"}}`,
  );
});

test('ignore lists: --ignore-paths replaces the default, --add-ignore-paths extends it', async () => {
  assert.ok(FLUX_DEFAULT_IGNORE.includes('.git/'));
  const replaced = tarHeaders(
    (await packArtifact({ path: dir, source: 's', revision: 'r', ignorePaths: ['*.txt'] })).layer.bytes,
  ).map((h) => h.name);
  assert.ok(replaced.includes('pic.png') && replaced.includes('.git/config') && !replaced.includes('notes.txt'));
  const added = tarHeaders(
    (await packArtifact({ path: dir, source: 's', revision: 'r', addIgnorePaths: ['b-dir/'] })).layer.bytes,
  ).map((h) => h.name);
  assert.deepEqual(added, ['.', 'C.yaml', 'a.yaml', 'notes.txt']);
});

test('a single file is archived alone at the root; a missing path is an input error', async () => {
  const single = tarHeaders(
    (await packArtifact({ path: join(dir, 'a.yaml'), source: 's', revision: 'r' })).layer.bytes,
  );
  assert.deepEqual(
    single.map((h) => h.name),
    ['.', 'a.yaml'],
  );
  await assert.rejects(
    packArtifact({ path: join(dir, 'missing'), source: 's', revision: 'r' }),
    (e: unknown) => e instanceof PinwardenError && e.code === 'PW_INPUT_INVALID',
  );
});

test('pushArtifact stores layer, config and the tagged manifest', async () => {
  const repo = new MemoryRepository();
  const artifact = await packArtifact({
    path: dir,
    source: 's',
    revision: 'r',
    reproducible: true,
    annotations: { 'org.example/team': 'platform' },
  });
  const signal = new AbortController().signal;
  const pushed = await pushArtifact(repo, artifact, 'v1', { signal });
  assert.deepEqual(pushed, artifact.manifest.descriptor);
  assert.deepEqual(await repo.resolve('v1', { signal }), pushed);
  assert.deepEqual(await fetchAll(repo, artifact.layer.descriptor, { signal }), artifact.layer.bytes);
  const manifest = JSON.parse(new TextDecoder().decode(artifact.manifest.bytes)) as {
    annotations: Record<string, string>;
  };
  assert.equal(manifest.annotations['org.example/team'], 'platform');
  assert.equal(artifact.manifest.descriptor.mediaType, MEDIA_TYPES.ociManifest);
});
