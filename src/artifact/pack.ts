/**
 * Flux-compatible artifacts, as `flux push artifact` builds them (fluxcd/pkg `oci/push.go`, `oci/build.go`,
 * `tar/tar.go`): a gzip tar of a directory's contents — the walk emits the root as `.` first, then entries in
 * byte order of their names, depth first; headers sanitised (uid/gid 0, no user/group names, zero times,
 * permission bits kept); only regular files and directories (symlinks skipped); the `excludeOCI` ignore list
 * by default. The manifest is an OCI image manifest with the Flux config and content media types and the
 * created/source/revision annotations. Same inputs (and `reproducible`) → same digest.
 * Byte-equality with the Go CLI is not a goal (Go's and zlib's deflate differ); structure and media types are.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createRequire } from 'node:module';
import { createGzip } from 'node:zlib';
import type IgnoreFactory from 'ignore';
import type { Ignore } from 'ignore';
import type * as TarStream from 'tar-stream';
import { PinwardenError } from '../core/errors.ts';
import { MEDIA_TYPES, sha256Digest } from '../oci/index.ts';
import type { Call, Descriptor, Digest, Repository } from '../oci/index.ts';
import { tarStream } from './tar.ts';

let loadedIgnore: typeof IgnoreFactory | undefined;

/** `ignore` is required on first pack: `pull` and `verify` load this room only to extract (BENCHMARKS.md, `pinwarden pull`). */
function ignoreFactory(): typeof IgnoreFactory {
  loadedIgnore ??= createRequire(import.meta.url)('ignore') as typeof IgnoreFactory;
  return loadedIgnore;
}

/** fluxcd/pkg `sourceignore` VCS patterns plus flux2 `excludeOCI` extensions (`flux push artifact` default). */
export const FLUX_DEFAULT_IGNORE: readonly string[] = [
  '.git/',
  '.gitignore',
  '.gitmodules',
  '.gitattributes',
  '*.jpg',
  '*.jpeg',
  '*.gif',
  '*.png',
  '*.wmv',
  '*.flv',
  '*.tar.gz',
  '*.zip',
];

export const ANNOTATIONS = {
  created: 'org.opencontainers.image.created',
  source: 'org.opencontainers.image.source',
  revision: 'org.opencontainers.image.revision',
} as const;

export const REPRODUCIBLE_CREATED = '1970-01-01T00:00:00Z';

export interface PackOptions {
  /** Directory whose contents are archived, or a single file (archived alone at the root). */
  path: string;
  source: string;
  revision: string;
  /** `created` is the epoch, so identical content gives an identical digest (flux `--reproducible`). */
  reproducible?: boolean;
  /** Replaces the default ignore list (flux `--ignore-paths`). */
  ignorePaths?: readonly string[];
  /** Added to the list in effect (flux `--add-ignore-paths`). */
  addIgnorePaths?: readonly string[];
  annotations?: Readonly<Record<string, string>>;
  now?: () => Date;
}

export interface Blob {
  bytes: Uint8Array;
  descriptor: Descriptor;
}

export interface PackedArtifact {
  manifest: Blob;
  config: Blob;
  layer: Blob;
}

export async function packArtifact(options: PackOptions): Promise<PackedArtifact> {
  const created =
    options.reproducible === true ? REPRODUCIBLE_CREATED : rfc3339Seconds((options.now ?? (() => new Date()))());
  const patterns = [...(options.ignorePaths ?? FLUX_DEFAULT_IGNORE), ...(options.addIgnorePaths ?? [])];
  const { gzip, diffId } = await tarGzip(options.path, patterns);
  const layer = blob(gzip, MEDIA_TYPES.fluxContent);
  const config = blob(encode(goJson(fluxConfig(created, diffId))), MEDIA_TYPES.fluxConfig);
  const annotations = sortedRecord({
    ...options.annotations,
    [ANNOTATIONS.created]: created,
    [ANNOTATIONS.source]: options.source,
    [ANNOTATIONS.revision]: options.revision,
  });
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: plainDescriptor(config.descriptor),
    layers: [plainDescriptor(layer.descriptor)],
    annotations,
  };
  return { manifest: blob(encode(goJson(manifest)), MEDIA_TYPES.ociManifest), config, layer };
}

/** Pushes layer, config, then the manifest (under `tag` when given); returns the manifest descriptor. */
export async function pushArtifact(
  repository: Repository,
  artifact: PackedArtifact,
  tag: string | undefined,
  call: Call,
): Promise<Descriptor> {
  await repository.pushBlob(artifact.layer.bytes, artifact.layer.descriptor.mediaType, call);
  await repository.pushBlob(artifact.config.bytes, artifact.config.descriptor.mediaType, call);
  return repository.pushManifest(artifact.manifest.bytes, MEDIA_TYPES.ociManifest, tag, call);
}

/**
 * go-containerregistry's ConfigFile as `mutate.ConfigFile` + `mutate.Append` leave it for an empty image
 * with one layer (v0.21.x, the version fluxcd/pkg pins): created, one empty history entry, the diff id.
 */
function fluxConfig(created: string, diffId: Digest): object {
  return {
    architecture: '',
    created,
    history: [{ created: '0001-01-01T00:00:00Z' }],
    os: '',
    rootfs: { type: 'layers', diff_ids: [diffId] },
    config: {},
  };
}

interface Entry {
  name: string;
  absolute: string;
  type: 'directory' | 'file';
  mode: number;
  size: number;
}

/** The gzip-compressed tar and the sha256 of the uncompressed tar (the OCI diff id). */
export async function tarGzip(
  path: string,
  ignorePatterns: readonly string[],
): Promise<{ gzip: Uint8Array; diffId: Digest }> {
  const entries = await collectEntries(path, ignoreFactory()().add([...ignorePatterns]));
  const pack = tarStream().pack();
  const gzip = createGzip();
  const uncompressed = createHash('sha256');
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => uncompressed.update(chunk as Buffer));
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    gzip.once('end', resolve);
    gzip.once('error', reject);
    pack.once('error', reject);
  });
  pack.pipe(gzip);
  for (const entry of entries) await addEntry(pack, entry);
  pack.finalize();
  await done;
  return { gzip: new Uint8Array(Buffer.concat(chunks)), diffId: `sha256:${uncompressed.digest('hex')}` };
}

async function addEntry(pack: TarStream.Pack, entry: Entry): Promise<void> {
  const header = {
    name: entry.name,
    type: entry.type,
    mode: entry.mode,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    mtime: new Date(0),
  };
  const content = entry.type === 'file' ? await readFile(entry.absolute) : undefined;
  await new Promise<void>((resolve, reject) => {
    const callback = (error?: Error | null): void => (error ? reject(error) : resolve());
    if (content === undefined) pack.entry({ ...header, size: 0 }, callback);
    else pack.entry({ ...header, size: content.byteLength }, content, callback);
  });
}

async function collectEntries(path: string, matcher: Ignore): Promise<Entry[]> {
  const rootStat = await lstat(path).catch((error: unknown) => {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `source path ${path} cannot be read: ${(error as { code?: string }).code ?? 'error'}`,
      { cause: error },
    );
  });
  if (rootStat.isFile()) {
    // flux stages a single file in a fresh temp dir (mode 0700), archived with its umask-filtered mode.
    const name = basename(path);
    const file: Entry = {
      name,
      absolute: path,
      type: 'file',
      mode: rootStat.mode & 0o777 & ~0o022,
      size: rootStat.size,
    };
    return [
      { name: '.', absolute: path, type: 'directory', mode: 0o700, size: 0 },
      ...(matcher.ignores(name) ? [] : [file]),
    ];
  }
  if (!rootStat.isDirectory())
    throw new PinwardenError('PW_INPUT_INVALID', `source path ${path} is neither a directory nor a file`);
  const entries: Entry[] = [{ name: '.', absolute: path, type: 'directory', mode: rootStat.mode & 0o7777, size: 0 }];
  await walk(path, '', matcher, entries);
  return entries;
}

/** Depth first, names in byte order (Go `filepath.WalkDir`); ignored directories are not entered. */
async function walk(directory: string, prefix: string, matcher: Ignore, into: Entry[]): Promise<void> {
  const children = await readdir(directory, { withFileTypes: true });
  children.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  for (const child of children) {
    if (!child.isFile() && !child.isDirectory()) continue;
    const name = prefix === '' ? child.name : `${prefix}/${child.name}`;
    const isDirectory = child.isDirectory();
    if (matcher.ignores(isDirectory ? `${name}/` : name)) continue;
    const absolute = join(directory, child.name);
    const stat = await lstat(absolute);
    into.push({
      name,
      absolute,
      type: isDirectory ? 'directory' : 'file',
      mode: stat.mode & 0o7777,
      size: isDirectory ? 0 : stat.size,
    });
    if (isDirectory) await walk(absolute, name, matcher, into);
  }
}

function blob(bytes: Uint8Array, mediaType: string): Blob {
  return { bytes, descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength } };
}

/** Field order as go-containerregistry's v1.Descriptor marshals it. */
function plainDescriptor(descriptor: Descriptor): object {
  return { mediaType: descriptor.mediaType, size: descriptor.size, digest: descriptor.digest };
}

/** Go's encoding/json: map keys sorted. */
function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** JSON as Go's encoding/json writes it: compact, with <, >, &, U+2028 and U+2029 escaped. */
function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function rfc3339Seconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
