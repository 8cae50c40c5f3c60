/** Shared bits for the registry integration tests: a manifests directory, calls, tar reading, error checks. */
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { PinwardenError } from '../../../src/core/errors.ts';
import { callWithTimeout } from '../../../src/oci/index.ts';
import type { Call } from '../../../src/oci/index.ts';

export const call = (ms = 5000): Call => callWithTimeout(ms);

/** A small "rendered manifests" tree with things flux push must skip (.git, images, symlinks). */
export async function makeManifestsDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'pinwarden-manifests-'));
  await mkdir(join(dir, 'apps', 'web'), { recursive: true });
  await mkdir(join(dir, '.git'));
  await writeFile(join(dir, 'kustomization.yaml'), 'resources: [apps/web/deploy.yaml]\n');
  await writeFile(
    join(dir, 'apps', 'web', 'deploy.yaml'),
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n',
  );
  await writeFile(join(dir, 'apps', 'web', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  await writeFile(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(join(dir, 'logo.png'), 'not really a png');
  await symlink('kustomization.yaml', join(dir, 'link.yaml'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  content: string;
}

export async function readTarGz(bytes: Uint8Array): Promise<TarEntry[]> {
  const extract = tar.extract();
  const entries: TarEntry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        entries.push({
          name: header.name,
          type: header.type ?? 'file',
          mode: header.mode ?? 0,
          uid: header.uid ?? -1,
          gid: header.gid ?? -1,
          uname: header.uname ?? '',
          gname: header.gname ?? '',
          mtime: header.mtime?.getTime() ?? -1,
          content: Buffer.concat(chunks).toString('utf8'),
        });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(gunzipSync(bytes));
  await done;
  return entries;
}

export const hasCode =
  (code: string, message?: RegExp) =>
  (error: unknown): boolean => {
    if (!(error instanceof PinwardenError)) throw error as Error;
    if (error.code !== code) throw new Error(`expected ${code}, got ${error.code}: ${error.message}`);
    if (message && !message.test(error.message))
      throw new Error(`message ${JSON.stringify(error.message)} does not match ${String(message)}`);
    return true;
  };

export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}
