/**
 * Safe streaming extraction of a Flux artifact layer (gzip tar), in the spirit of fluxcd/pkg `tar.Untar` with
 * `WithSkipSymlinks` but stricter: the archive is unpacked into a fresh temporary directory beside the target
 * and renamed into place only when every entry passed and the source stream ended cleanly (for an OCI blob, that
 * means its size and digest matched); on any failure the temporary directory is removed and the target is left
 * as it was (absent, or an empty directory).
 *
 * Rules, each refused with PW_ARTIFACT_UNSAFE unless noted:
 * - names that are absolute, hold a `..` component, a backslash or a NUL, or are longer than 4096 characters;
 * - symlinks and hardlinks are skipped with a warning (as Flux skips symlinks), so no link can point outside;
 *   because nothing but directories and regular files is ever created, no path can escape the root;
 * - character and block devices, fifos and any other special entry;
 * - more entries than `maxFiles`, more uncompressed bytes than `maxBytes`, or (past the first 16 MiB) more than
 *   `maxRatio` uncompressed bytes per compressed byte: a zip bomb stops at the cap, it is never written out;
 * - a truncated or corrupt gzip or tar stream is PW_ARTIFACT_INVALID.
 * Modes keep the permission bits without setuid/setgid/sticky or group/other write; owners and times are not kept.
 */
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type * as TarStream from 'tar-stream';
import { PinwardenError } from '../core/errors.ts';
import { tarStream } from './tar.ts';

export interface ExtractLimits {
  /** Entries of any type (files, directories, skipped links). */
  maxFiles: number;
  /** Uncompressed bytes of the tar stream (headers and padding included). */
  maxBytes: number;
  /** Uncompressed bytes per compressed byte, checked once `RATIO_GRACE_BYTES` have come out. */
  maxRatio: number;
}

const GIB = 1024 * 1024 * 1024;

type Entry = ReturnType<typeof TarStream.extract> extends AsyncIterable<infer E> ? E : never;

/** Defaults a 2 GiB zip bomb or 100,000 files cannot pass; a Flux artifact of manifests is far below them. */
export const DEFAULT_EXTRACT_LIMITS: Readonly<ExtractLimits> = { maxFiles: 10_000, maxBytes: 1 * GIB, maxRatio: 100 };

/** Small archives of zero-filled or repetitive files compress far better than 100:1 and are harmless. */
export const RATIO_GRACE_BYTES = 16 * 1024 * 1024;
const MAX_NAME = 4096;
const SMALL_FILE = 256 * 1024;

export interface ExtractOptions {
  limits?: Partial<ExtractLimits>;
  signal?: AbortSignal;
}

export interface ExtractResult {
  directory: string;
  files: number;
  directories: number;
  /** Bytes written to regular files. */
  bytes: number;
  /** One line per skipped link. */
  warnings: string[];
}

/** Unpacks the gzip tar `source` into `destination` (absent or an empty directory; its parent must exist). */
export async function extractTarGzip(
  source: Readable,
  destination: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const limits = { ...DEFAULT_EXTRACT_LIMITS, ...options.limits };
  checkLimits(limits);
  return intoFreshDirectory(
    source,
    destination,
    async (root) => unpack(source, root, limits, options.signal),
    options.signal,
  );
}

/** Writes the stream unchanged as `destination/fileName` (Flux `layerSelector.operation: copy`), same guarantees. */
export async function copyStream(
  source: Readable,
  destination: string,
  fileName: string,
  options: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<{ directory: string; file: string; bytes: number }> {
  if (safeRelativePath(fileName) !== fileName || fileName.includes('/'))
    throw new PinwardenError('PW_INPUT_INVALID', `'${fileName}' is not a plain file name`);
  const maxBytes = options.maxBytes ?? DEFAULT_EXTRACT_LIMITS.maxBytes;
  return intoFreshDirectory(
    source,
    destination,
    async (root) => {
      let bytes = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.byteLength;
          done(bytes > maxBytes ? unsafe(`the layer is over the ${maxBytes}-byte cap`) : null, chunk);
        },
      });
      await pipeline(
        source,
        counter,
        createWriteStream(join(root, fileName), { mode: 0o644 }),
        ...(options.signal ? [{ signal: options.signal }] : []),
      );
      return { file: join(destination, fileName), bytes };
    },
    options.signal,
  );
}

/** Checks the target, unpacks into a sibling temporary directory, renames it into place; removes it on failure. */
async function intoFreshDirectory<T extends object>(
  source: Readable,
  destination: string,
  fill: (root: string) => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T & { directory: string }> {
  try {
    await checkDestination(destination);
  } catch (error) {
    source.destroy();
    throw error;
  }
  const temporary = await mkdtemp(join(dirname(destination), `.${basename(destination)}.pinwarden-`)).catch(
    (error: unknown) => {
      source.destroy();
      throw new PinwardenError(
        'PW_INPUT_INVALID',
        `${dirname(destination)}: cannot create a temporary directory (${codeOf(error)})`,
        { cause: error },
      );
    },
  );
  try {
    const result = await fill(temporary).catch((error: unknown) => {
      source.destroy();
      throw classify(error, signal);
    });
    // A directory that appeared meanwhile is not replaced unless it is empty (rename(2) refuses otherwise).
    await rename(temporary, destination).catch((error: unknown) => {
      throw new PinwardenError(
        'PW_INPUT_INVALID',
        `${destination}: cannot move the extracted content into place (${codeOf(error)})`,
        { cause: error },
      );
    });
    return { ...result, directory: destination };
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

async function checkDestination(destination: string): Promise<void> {
  const parent = await lstat(dirname(destination)).catch(() => undefined);
  if (!parent?.isDirectory())
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `${dirname(destination)}: the parent of the output directory does not exist`,
    );
  const existing = await lstat(destination).catch(() => undefined);
  if (!existing) return;
  if (!existing.isDirectory())
    throw new PinwardenError('PW_INPUT_INVALID', `${destination}: exists and is not a directory`);
  if ((await readdir(destination)).length > 0)
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `${destination}: exists and is not empty; pinwarden extracts only into an absent or empty directory`,
    );
}

async function unpack(
  source: Readable,
  root: string,
  limits: ExtractLimits,
  signal: AbortSignal | undefined,
): Promise<Omit<ExtractResult, 'directory'>> {
  let compressed = 0;
  let uncompressed = 0;
  const countCompressed = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      compressed += chunk.byteLength;
      done(null, chunk);
    },
  });
  const countUncompressed = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      uncompressed += chunk.byteLength;
      if (uncompressed > limits.maxBytes) {
        done(unsafe(`more than ${limits.maxBytes} uncompressed bytes (the size cap)`, 'size'));
        return;
      }
      if (uncompressed > RATIO_GRACE_BYTES && uncompressed > compressed * limits.maxRatio) {
        done(
          unsafe(
            `${uncompressed} uncompressed bytes from ${compressed} compressed is over the ${limits.maxRatio}:1 compression ratio cap`,
            'ratio',
          ),
        );
        return;
      }
      done(null, chunk);
    },
  });
  const extract = tarStream().extract();
  const failures: unknown[] = [];
  const piping = pipeline(
    source,
    countCompressed,
    createGunzip(),
    countUncompressed,
    extract,
    ...(signal ? [{ signal }] : []),
  ).catch((error: unknown) => {
    failures.push(error);
  });
  const totals: Totals = { files: 0, directories: 0, bytes: 0, warnings: [], made: new Set([root]) };
  let entries = 0;
  try {
    for await (const entry of extract) {
      entries++;
      if (entries > limits.maxFiles) throw unsafe(`more than ${limits.maxFiles} entries (the file-count cap)`, 'files');
      await writeEntry(entry, root, totals);
    }
  } catch (error) {
    failures.unshift(error);
    extract.destroy();
  }
  await piping;
  if (failures.length > 0) throw pickFailure(failures);
  return { files: totals.files, directories: totals.directories, bytes: totals.bytes, warnings: totals.warnings };
}

interface Totals extends Omit<ExtractResult, 'directory'> {
  made: Set<string>;
}

async function writeEntry(entry: Entry, root: string, totals: Totals): Promise<void> {
  const { header } = entry;
  const relative = safeRelativePath(header.name);
  // tar-stream gives null for a type flag it does not know (sparse files, volume labels…): refused below.
  const type: string = header.type ?? 'unknown';
  switch (type) {
    case 'file':
    case 'contiguous-file': {
      if (relative === '') throw unsafe(`a file entry names the root`);
      const path = join(root, relative);
      await makeDirectory(dirname(path), totals, header.name);
      const mode = fileMode(header.mode);
      const size = header.size ?? 0;
      try {
        if (size <= SMALL_FILE) {
          // Most manifests are small: one buffer and one write, not a stream pair per file.
          const chunks: Buffer[] = [];
          for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
          await writeFile(path, Buffer.concat(chunks), { mode });
        } else {
          await pipeline(entry, createWriteStream(path, { mode }));
        }
      } catch (error) {
        throw error instanceof PinwardenError
          ? error
          : unsafe(`'${shown(header.name)}' cannot be written (${codeOf(error)})`);
      }
      totals.files++;
      totals.bytes += size;
      return;
    }
    case 'directory':
      if (relative !== '') {
        await makeDirectory(join(root, relative), totals, header.name);
        totals.directories++;
      }
      entry.resume();
      return;
    case 'symlink':
    case 'link':
      totals.warnings.push(
        `skipped ${type === 'symlink' ? 'symlink' : 'hardlink'} '${shown(header.name)}' -> '${shown(header.linkname ?? '')}': links are not extracted`,
      );
      entry.resume();
      return;
    case 'character-device':
    case 'block-device':
    case 'fifo':
      throw unsafe(`'${shown(header.name)}' is a ${type}; only files and directories are extracted`);
    default:
      // pax and GNU long-name headers are consumed by tar-stream; anything else reaching here is refused.
      throw unsafe(`'${shown(header.name)}' has an unsupported entry type '${type}'`);
  }
}

/** mkdir -p, once per directory (a Set of those made, bounded by the entry cap). */
async function makeDirectory(path: string, totals: Totals, name: string): Promise<void> {
  if (totals.made.has(path)) return;
  await mkdir(path, { recursive: true, mode: 0o755 }).catch((error: unknown) => {
    throw unsafe(
      `'${shown(name)}': directory ${codeOf(error) === 'ENOTDIR' || codeOf(error) === 'EEXIST' ? 'conflicts with a file of the same name' : `cannot be created (${codeOf(error)})`}`,
    );
  });
  totals.made.add(path);
}

/** The entry name as a root-relative path ('' for the root), or PW_ARTIFACT_UNSAFE. */
export function safeRelativePath(name: string): string {
  if (name.length > MAX_NAME) throw unsafe(`an entry name is longer than ${MAX_NAME} characters`);
  if (name.includes('\0')) throw unsafe(`'${shown(name)}' contains a NUL character`);
  if (name.includes('\\')) throw unsafe(`'${shown(name)}' contains a backslash`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw unsafe(`'${shown(name)}' is an absolute path`);
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw unsafe(`'${shown(name)}' contains '..'`);
  return parts.join('/');
}

function fileMode(mode: number | undefined): number {
  // Permission bits only, never setuid/setgid/sticky, never writable by group or others; the owner can read.
  return ((mode ?? 0o644) & 0o755) | 0o600;
}

function checkLimits(limits: ExtractLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0)
      throw new PinwardenError(
        'PW_INPUT_INVALID',
        `extraction limit ${name} must be a positive number, got ${String(value)}`,
      );
  }
}

/** The cause to report: our own refusal over the stream errors it set off. */
function pickFailure(failures: unknown[]): unknown {
  return failures.find((failure) => failure instanceof PinwardenError) ?? failures[0];
}

function classify(error: unknown, signal: AbortSignal | undefined): PinwardenError {
  if (error instanceof PinwardenError) return error;
  if (signal?.aborted) return new PinwardenError('PW_DEADLINE', 'extraction: deadline exceeded', { cause: error });
  const code = codeOf(error);
  if (code.startsWith('Z_') || code === 'ERR_STREAM_PREMATURE_CLOSE')
    return invalid(`the layer is not a complete gzip stream (${code})`, error);
  if (error instanceof Error && /tar|header|unexpected end/i.test(error.message))
    return invalid('the layer is not a valid tar archive', error);
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EACCES' || code === 'EROFS')
    return new PinwardenError('PW_INPUT_INVALID', `extraction failed writing to disk (${code})`, { cause: error });
  return invalid(`the layer could not be extracted (${code})`, error);
}

function unsafe(message: string, cap?: string): PinwardenError {
  return new PinwardenError('PW_ARTIFACT_UNSAFE', message, cap === undefined ? {} : { details: { cap } });
}

function invalid(message: string, cause?: unknown): PinwardenError {
  return new PinwardenError('PW_ARTIFACT_INVALID', message, cause === undefined ? {} : { cause });
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'error';
}

/** An entry name for a message: printable, at most 200 characters. */
function shown(name: string): string {
  const printable = name.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 200 ? `${printable.slice(0, 200)}…` : printable;
}
