import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PinwardenError } from '../../../src/core/errors.ts';
import { DEFAULT_EXTRACT_LIMITS, copyStream, extractTarGzip } from '../../../src/artifact/index.ts';
import { MemoryRepository } from '../../../src/oci/index.ts';
import { manyFiles, tarGz, zeroFileBomb } from '../../helpers/tarballs.ts';
import type { CraftedEntry } from '../../helpers/tarballs.ts';

const call = () => ({ signal: new AbortController().signal });

async function workspace(): Promise<{ parent: string; target: string; cleanup: () => Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), 'pw-extract-'));
  return { parent, target: join(parent, 'out'), cleanup: () => rm(parent, { recursive: true, force: true }) };
}

function hasCode(code: string, message?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof PinwardenError, `expected a PinwardenError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  };
}

/** Extraction of `entries` must fail with `code`, leaving the parent as it was (no target, no temporary directory). */
async function refused(entries: readonly CraftedEntry[], code: string, message: RegExp): Promise<void> {
  const { parent, target, cleanup } = await workspace();
  try {
    await assert.rejects(extractTarGzip(Readable.from([await tarGz(entries)]), target), hasCode(code, message));
    assert.deepEqual(await readdir(parent), [], 'nothing is left behind');
  } finally {
    await cleanup();
  }
}

test('a well-formed artifact is extracted whole: nested files, contents, modes without setuid or group/other write', async () => {
  const { parent, target, cleanup } = await workspace();
  try {
    const gz = await tarGz([
      { name: './', type: 'directory' },
      { name: './apps/', type: 'directory' },
      { name: './apps/deploy.yaml', content: 'kind: Deployment\n' },
      { name: 'apps/nested/deep/cm.yaml', content: 'kind: ConfigMap\n', mode: 0o4777 },
      { name: 'run.sh', content: '#!/bin/sh\n', mode: 0o755 },
    ]);
    const result = await extractTarGzip(Readable.from([gz]), target);
    assert.deepEqual(
      { files: result.files, bytes: result.bytes, warnings: result.warnings, directory: result.directory },
      { files: 3, bytes: 17 + 16 + 10, warnings: [], directory: target },
    );
    assert.equal(await readFile(join(target, 'apps/deploy.yaml'), 'utf8'), 'kind: Deployment\n');
    assert.equal(await readFile(join(target, 'apps/nested/deep/cm.yaml'), 'utf8'), 'kind: ConfigMap\n');
    assert.equal((await stat(join(target, 'apps/nested/deep/cm.yaml'))).mode & 0o7777, 0o755);
    assert.equal((await stat(join(target, 'run.sh'))).mode & 0o777, 0o755);
    assert.deepEqual(await readdir(parent), ['out'], 'only the target, no temporary directory');
  } finally {
    await cleanup();
  }
});

test('rule: an absolute path is refused', () =>
  refused(
    [
      { name: 'ok.yaml', content: 'a: 1\n' },
      { name: '/etc/cron.d/evil', content: 'x' },
    ],
    'PW_ARTIFACT_UNSAFE',
    /'\/etc\/cron\.d\/evil' is an absolute path/,
  ));

test("rule: a path with '..' is refused", () =>
  refused(
    [
      { name: 'ok.yaml', content: 'a: 1\n' },
      { name: 'apps/../../escape.yaml', content: 'x' },
    ],
    'PW_ARTIFACT_UNSAFE',
    /contains '\.\.'/,
  ));

test('rule: a backslash in a name is refused (as Flux does)', () =>
  refused([{ name: '..\\..\\escape.yaml', content: 'x' }], 'PW_ARTIFACT_UNSAFE', /backslash/));

test('rule: a symlink pointing outside is skipped with a warning, and a later file "through" it stays inside the root', async () => {
  const { parent, target, cleanup } = await workspace();
  const outside = join(parent, 'outside');
  await mkdir(outside);
  try {
    const gz = await tarGz([
      { name: 'escape', type: 'symlink', linkname: outside },
      { name: 'escape/pwned.yaml', content: 'owned\n' },
      { name: 'up', type: 'symlink', linkname: '../../../../etc/passwd' },
      { name: 'ok.yaml', content: 'a: 1\n' },
    ]);
    const result = await extractTarGzip(Readable.from([gz]), target);
    assert.deepEqual(result.warnings, [
      `skipped symlink 'escape' -> '${outside}': links are not extracted`,
      "skipped symlink 'up' -> '../../../../etc/passwd': links are not extracted",
    ]);
    assert.deepEqual(await readdir(outside), [], 'nothing was written outside the root');
    assert.equal(
      (await lstat(join(target, 'escape'))).isDirectory(),
      true,
      'escape/ is a real directory inside the root',
    );
    assert.equal(await readFile(join(target, 'escape/pwned.yaml'), 'utf8'), 'owned\n');
    await assert.rejects(lstat(join(target, 'up')), /ENOENT/);
  } finally {
    await cleanup();
  }
});

test('rule: a hardlink is skipped with a warning, never created', async () => {
  const { target, cleanup } = await workspace();
  try {
    const gz = await tarGz([
      { name: 'passwd', type: 'link', linkname: '/etc/passwd' },
      { name: 'ok.yaml', content: 'a: 1\n' },
    ]);
    const result = await extractTarGzip(Readable.from([gz]), target);
    assert.deepEqual(result.warnings, ["skipped hardlink 'passwd' -> '/etc/passwd': links are not extracted"]);
    assert.deepEqual((await readdir(target)).sort(), ['ok.yaml']);
  } finally {
    await cleanup();
  }
});

test('rule: a character device is refused', () =>
  refused(
    [
      { name: 'ok.yaml', content: 'a\n' },
      { name: 'null', type: 'character-device' },
    ],
    'PW_ARTIFACT_UNSAFE',
    /'null' is a character-device/,
  ));

test('rule: a block device is refused', () =>
  refused([{ name: 'sda', type: 'block-device' }], 'PW_ARTIFACT_UNSAFE', /'sda' is a block-device/));

test('rule: a fifo is refused', () =>
  refused([{ name: 'pipe', type: 'fifo' }], 'PW_ARTIFACT_UNSAFE', /'pipe' is a fifo/));

test('rule: 100,000 files cannot pass the default file-count cap, and the generator is stopped early', async () => {
  const { parent, target, cleanup } = await workspace();
  try {
    const generated = manyFiles(100_000);
    await assert.rejects(
      extractTarGzip(generated.stream, target),
      hasCode('PW_ARTIFACT_UNSAFE', new RegExp(`more than ${DEFAULT_EXTRACT_LIMITS.maxFiles} entries`)),
    );
    assert.ok(generated.produced() < 100_000 * 512, `stopped after ${generated.produced()} bytes`);
    assert.deepEqual(await readdir(parent), []);
  } finally {
    await cleanup();
  }
});

test('rule: the total uncompressed size cap stops extraction (ratio cap out of the way)', async () => {
  const { parent, target, cleanup } = await workspace();
  try {
    const generated = zeroFileBomb(64 * 1024 * 1024);
    await assert.rejects(
      extractTarGzip(generated.stream, target, { limits: { maxBytes: 4 * 1024 * 1024, maxRatio: 1_000_000 } }),
      hasCode('PW_ARTIFACT_UNSAFE', /more than 4194304 uncompressed bytes \(the size cap\)/),
    );
    assert.deepEqual(await readdir(parent), []);
  } finally {
    await cleanup();
  }
});

test('rule: a 2 GiB zip bomb is stopped by the default compression-ratio cap long before it is written', async () => {
  const { parent, target, cleanup } = await workspace();
  try {
    const bomb = zeroFileBomb(2 * 1024 * 1024 * 1024);
    await assert.rejects(
      extractTarGzip(bomb.stream, target),
      hasCode('PW_ARTIFACT_UNSAFE', /over the 100:1 compression ratio cap/),
    );
    assert.ok(bomb.produced() < 256 * 1024 * 1024, `the generator was stopped after ${bomb.produced()} bytes`);
    assert.deepEqual(await readdir(parent), []);
  } finally {
    await cleanup();
  }
});

test('a truncated gzip stream is PW_ARTIFACT_INVALID and leaves nothing', async () => {
  const { parent, target, cleanup } = await workspace();
  try {
    const gz = await tarGz([
      { name: 'a.yaml', content: 'x'.repeat(10_000) },
      { name: 'b.yaml', content: 'y\n' },
    ]);
    await assert.rejects(
      extractTarGzip(Readable.from([gz.subarray(0, gz.length - 20)]), target),
      hasCode('PW_ARTIFACT_INVALID', /not a complete gzip stream/),
    );
    assert.deepEqual(await readdir(parent), []);
  } finally {
    await cleanup();
  }
});

test('content that does not match its digest: the stream fails at its end, nothing is renamed into place', async () => {
  const { parent, target, cleanup } = await workspace();
  try {
    const memory = new MemoryRepository();
    const good = await tarGz([{ name: 'a.yaml', content: 'replicas: 1\n' }]);
    const descriptor = await memory.pushBlob(good, 'application/vnd.cncf.flux.content.v1.tar+gzip', call());
    // A valid gzip tar of the same length but other content: only the digest check can catch it.
    let other = good;
    for (let replicas = 2; replicas < 100 && (other === good || other.byteLength !== good.byteLength); replicas++) {
      other = await tarGz([{ name: 'a.yaml', content: `replicas: ${replicas}\n` }]);
    }
    assert.equal(other.byteLength, good.byteLength);
    assert.notDeepEqual(other, good);
    memory.tamperBlob(descriptor.digest, other);
    await assert.rejects(
      extractTarGzip(await memory.fetch(descriptor, call()), target),
      hasCode('PW_DIGEST_MISMATCH', /does not match/),
    );
    assert.deepEqual(await readdir(parent), []);
  } finally {
    await cleanup();
  }
});

test('an empty target directory is used and stays empty on failure; a non-empty one is refused untouched', async () => {
  const { parent, target, cleanup } = await workspace();
  try {
    await mkdir(target);
    await assert.rejects(
      extractTarGzip(Readable.from([await tarGz([{ name: '/abs', content: 'x' }])]), target),
      hasCode('PW_ARTIFACT_UNSAFE'),
    );
    assert.deepEqual(await readdir(target), []);
    assert.deepEqual(await readdir(parent), ['out']);
    const result = await extractTarGzip(Readable.from([await tarGz([{ name: 'a.yaml', content: 'a\n' }])]), target);
    assert.equal(result.files, 1);
    await assert.rejects(
      extractTarGzip(Readable.from([await tarGz([{ name: 'b.yaml', content: 'b\n' }])]), target),
      hasCode('PW_INPUT_INVALID', /exists and is not empty/),
    );
    assert.deepEqual(await readdir(target), ['a.yaml']);
    assert.deepEqual(await readdir(parent), ['out']);
  } finally {
    await cleanup();
  }
});

test('a file entry that collides with a directory is refused, not merged', () =>
  refused(
    [
      { name: 'a', content: 'file\n' },
      { name: 'a/b.yaml', content: 'x' },
    ],
    'PW_ARTIFACT_UNSAFE',
    /conflicts with a file/,
  ));

test('copy stores the stream unchanged as one file, with the same all-or-nothing rename', async () => {
  const { parent, target, cleanup } = await workspace();
  try {
    const gz = await tarGz([{ name: 'a.yaml', content: 'a\n' }]);
    const copied = await copyStream(Readable.from([gz]), target, 'layer.tgz');
    assert.deepEqual(await readFile(copied.file), gz);
    await rm(target, { recursive: true });
    await assert.rejects(
      copyStream(Readable.from([gz]), target, 'layer.tgz', { maxBytes: 10 }),
      hasCode('PW_ARTIFACT_UNSAFE', /over the 10-byte cap/),
    );
    assert.deepEqual(await readdir(parent), []);
  } finally {
    await cleanup();
  }
});
