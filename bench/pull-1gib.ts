/**
 * `npm run build && node bench/pull-1gib.ts [MIB]` (issue #10 item 8): peak RSS of `pinwarden pull` (fetch by
 * digest, verify a cosign bundle, extract) of an artifact of MIB MiB uncompressed (default 1024: 1,024 files of
 * 1 MiB YAML-like text, about 4:1 under gzip) served by Debian's `docker-registry`. Target: peak RSS ≤ 200 MB,
 * i.e. extraction streams and holds no layer in memory. Baselines in the same run: the peak RSS of pulling a
 * one-file artifact with the same command (what the process costs with nothing to stream), and GNU `tar -xzf`
 * of the same layer file for time. Peak RSS from `/usr/bin/time -f %M` for every process alike. Nothing is kept:
 * the layer is generated into a temporary file, uploaded as a stream, and everything is removed at the end.
 */
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomInt } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { packArtifact, pushArtifact } from '../src/artifact/index.ts';
import { HttpRepository, MEDIA_TYPES } from '../src/oci/index.ts';
import type { Descriptor, Digest } from '../src/oci/index.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { pemOfPublicKey } from '../test/helpers/sigstore-fixtures.ts';
import { attachBundle, dsseBundle } from '../test/helpers/sigstore-fixtures-sign.ts';

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.argv[2] ?? 1024);
const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const call = () => ({ signal: AbortSignal.timeout(600_000) });
const WORDS = Array.from({ length: 512 }, (_, index) => `w${index.toString(36)}${'abcdefghij'.slice(0, index % 7)}`);

/** One MiB of YAML-like text: keys and values from a small vocabulary plus numbers (gzip ~4:1). */
function textFile(): Buffer {
  const lines: string[] = [];
  let length = 0;
  while (length < MIB) {
    const line = `  ${WORDS[randomInt(WORDS.length)]}-${WORDS[randomInt(WORDS.length)]}: "${WORDS[randomInt(WORDS.length)]} ${randomInt(1_000_000)}"\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, MIB);
}

async function generateLayer(file: string): Promise<{ digest: Digest; size: number }> {
  const pack = tar.pack();
  const hash = createHash('sha256');
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.byteLength;
      done(null, chunk);
    },
  });
  const writing = pipeline(Readable.from(pack), createGzip({ level: 6 }), hashing, createWriteStream(file));
  const pool = Array.from({ length: 16 }, textFile);
  for (let index = 0; index < SIZE_MIB; index++) {
    const body = pool[index % pool.length] as Buffer;
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: `data/part-${index}.yaml`, size: body.byteLength, mtime: new Date(0) }, body, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  }
  pack.finalize();
  await writing;
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** POST then PUT with the file as the body: a monolithic upload that never holds the layer in memory. */
async function uploadBlob(host: string, path: string, file: string, digest: Digest, size: number): Promise<void> {
  const location = await new Promise<string>((resolve, reject) => {
    const req = request(`http://${host}/v2/${path}/blobs/uploads/`, { method: 'POST' }, (res) => {
      res.resume();
      if (res.statusCode !== 202 || typeof res.headers.location !== 'string')
        reject(new Error(`upload start: ${res.statusCode}`));
      else resolve(res.headers.location);
    });
    req.on('error', reject);
    req.end();
  });
  const target = new URL(location, `http://${host}`);
  target.searchParams.set('digest', digest);
  await new Promise<void>((resolve, reject) => {
    const req = request(
      target,
      { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) } },
      (res) => {
        res.resume();
        if (res.statusCode !== 201) reject(new Error(`upload: ${res.statusCode}`));
        else resolve();
      },
    );
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

/** Runs a command under /usr/bin/time; returns its wall time and peak RSS (MB). */
function measured(command: string, args: string[], cwd: string): { ms: number; rssMb: number } {
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M', command, ...args], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 16 * MIB,
  });
  const ms = performance.now() - started;
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr.slice(-2000)}`);
  const kb = Number(/MAXRSS (\d+)/.exec(result.stderr)?.[1]);
  return { ms: Math.round(ms), rssMb: Math.round(kb / 1024) };
}

const dir = mkdtempSync(join(tmpdir(), 'pinwarden-bench-1gib-'));
const registry = await startRegistry({ mode: 'plain' });
try {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'cosign.pub'), pemOfPublicKey(keys.publicKey));
  const repository = new HttpRepository(
    { registry: registry.host, host: registry.host, path: 'bench/big' },
    { insecure: true },
  );

  let started = performance.now();
  const layerFile = join(dir, 'layer.tar.gz');
  const layer = await generateLayer(layerFile);
  console.log(
    `generated ${SIZE_MIB} MiB uncompressed → ${Math.round(layer.size / MIB)} MiB gzip in ${Math.round(performance.now() - started)} ms`,
  );
  started = performance.now();
  await uploadBlob(registry.host, 'bench/big', layerFile, layer.digest, layer.size);
  const config = await repository.pushBlob(new TextEncoder().encode('{}'), MEDIA_TYPES.fluxConfig, call());
  const layerDescriptor: Descriptor = { mediaType: MEDIA_TYPES.fluxContent, digest: layer.digest, size: layer.size };
  const big = await repository.pushManifest(
    new TextEncoder().encode(
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers: [layerDescriptor] }),
    ),
    MEDIA_TYPES.ociManifest,
    'big',
    call(),
  );
  await attachBundle(repository, big, dsseBundle(keys, big.digest));
  const smallSource = join(dir, 'small');
  mkdirSync(smallSource);
  writeFileSync(join(smallSource, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: small\n');
  const small = await pushArtifact(
    repository,
    await packArtifact({ path: smallSource, source: 'bench', revision: 'bench', reproducible: true }),
    'small',
    call(),
  );
  await attachBundle(repository, small, dsseBundle(keys, small.digest));
  repository.close();
  console.log(`uploaded in ${Math.round(performance.now() - started)} ms`);

  const pull = (digest: string, out: string, extra: string[] = []) =>
    measured(
      process.execPath,
      [
        CLI,
        'pull',
        `oci://${registry.host}/bench/big@${digest}`,
        '-o',
        out,
        '--key',
        'cosign.pub',
        '--insecure',
        '--timeout',
        '20m',
        ...extra,
      ],
      dir,
    );
  const smallRun = pull(small.digest, join(dir, 'small-out'));
  const bigRun = pull(big.digest, join(dir, 'big-out'), ['--max-size', '2GiB', '--max-files', '2000']);
  const extracted = Number(spawnSync('du', ['-sb', join(dir, 'big-out')], { encoding: 'utf8' }).stdout.split('\t')[0]);
  rmSync(join(dir, 'big-out'), { recursive: true, force: true });
  mkdirSync(join(dir, 'tar-out'));
  const tarRun = measured('tar', ['-xzf', layerFile, '-C', join(dir, 'tar-out')], dir);
  console.log(
    JSON.stringify({
      uncompressedMiB: SIZE_MIB,
      layerMiB: Math.round(statSync(layerFile).size / MIB),
      extractedMiB: Math.round(extracted / MIB),
      pullPeakRssMb: bigRun.rssMb,
      target: '≤ 200 MB',
      smallPullPeakRssMb: smallRun.rssMb,
      rssRatioToSmallPull: Math.round((bigRun.rssMb / smallRun.rssMb) * 100) / 100,
      pullMs: bigRun.ms,
      tarXzfMs: tarRun.ms,
      tarXzfPeakRssMb: tarRun.rssMb,
      timeRatioToTar: Math.round((bigRun.ms / tarRun.ms) * 100) / 100,
    }),
  );
} finally {
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
}
