/**
 * The local artifact store: one directory per artifact digest, bounded in total size (least recently used
 * artifacts are evicted first, never one being written or read right now), and safe across restarts.
 *
 * Layout under `root`: `index.json` (written atomically: temporary file, fsync, rename) lists every artifact
 * this store wrote, with the sha256 of its manifest; `data/<hex>/` is the content; `data/<hex>.manifest.json`
 * lists every file with its size and sha256. After a restart nothing is trusted that the index does not list
 * with a matching manifest, and an artifact's files are re-hashed against its manifest before it is first
 * handed out: a file changed, added or removed behind the store's back makes the artifact absent (and the
 * reconciler fetches it again). Anything else under `data/` or `tmp/` is removed at start.
 *
 * `directoryFor(digest)` is the `ArtifactLookup` the Kustomization reconciler reads artifacts through.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { PinwardenError } from '../../core/errors.ts';

export interface ArtifactLookup {
  /** The directory holding the artifact with this digest, or undefined when it is not (or no longer) stored. */
  directoryFor(digest: string): Promise<string | undefined>;
}

export interface StoredArtifact {
  digest: string;
  directory: string;
  /** Bytes of the stored files. */
  size: number;
  files: number;
  /** What the producer asked to keep with it (the manifest's annotations). */
  metadata?: Record<string, string>;
}

export interface ArtifactStore extends ArtifactLookup {
  /** Loads the index (call once before use); removes what the store did not write. */
  open(): Promise<void>;
  has(digest: string): boolean;
  /**
   * Stores an artifact: `produce` fills a fresh directory (absent; its parent exists). The artifact becomes
   * visible only once complete. Evicts least recently used artifacts to stay under the cap; PW_TOO_LARGE when
   * this artifact alone is over it.
   */
  put(
    digest: string,
    produce: (directory: string) => Promise<void | { metadata?: Record<string, string> }>,
  ): Promise<StoredArtifact>;
  /** The stored artifact (its files checked as `directoryFor` checks them), or undefined. */
  get(digest: string): Promise<StoredArtifact | undefined>;
  remove(digest: string): Promise<void>;
  /** Total bytes stored. */
  size(): number;
  digests(): string[];
}

export interface ArtifactStoreOptions {
  root: string;
  /** Cap on stored bytes (default 1 GiB). */
  maxBytes?: number;
  /** Cap on files per artifact hashed into its manifest (default 100 000). */
  maxFiles?: number;
  now?: () => number;
}

interface FileRecord {
  path: string;
  size: number;
  sha256: string;
}

interface Manifest {
  digest: string;
  files: FileRecord[];
}

interface IndexEntry {
  digest: string;
  size: number;
  files: number;
  manifestSha256: string;
  lastUsed: number;
  metadata?: Record<string, string>;
}

interface IndexFile {
  version: 1;
  entries: IndexEntry[];
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function createArtifactStore(options: ArtifactStoreOptions): ArtifactStore {
  const root = options.root;
  const dataDir = join(root, 'data');
  const tmpDir = join(root, 'tmp');
  const indexPath = join(root, 'index.json');
  const maxBytes = options.maxBytes ?? 1024 * 1024 * 1024;
  const maxFiles = options.maxFiles ?? 100_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, IndexEntry>();
  /** Artifacts whose files were checked against their manifest since this process started. */
  const checked = new Set<string>();
  /** Digests being written or read: never evicted. */
  const busy = new Map<string, number>();
  let writes: Promise<unknown> = Promise.resolve();

  const hexOf = (digest: string): string => {
    if (!DIGEST.test(digest))
      throw new PinwardenError('PW_INPUT_INVALID', `artifact store: '${digest.slice(0, 80)}' is not a sha256 digest`);
    return digest.slice('sha256:'.length);
  };
  const contentDir = (digest: string): string => join(dataDir, hexOf(digest));
  const manifestPath = (digest: string): string => join(dataDir, `${hexOf(digest)}.manifest.json`);
  const total = (): number => [...entries.values()].reduce((sum, entry) => sum + entry.size, 0);

  const hold = (digest: string): (() => void) => {
    busy.set(digest, (busy.get(digest) ?? 0) + 1);
    return () => {
      const left = (busy.get(digest) ?? 1) - 1;
      if (left <= 0) busy.delete(digest);
      else busy.set(digest, left);
    };
  };

  const saveIndex = async (): Promise<void> => {
    const body: IndexFile = { version: 1, entries: [...entries.values()] };
    await writeAtomically(indexPath, JSON.stringify(body), tmpDir);
  };
  /** Index writes are serialized: two puts never interleave their renames. */
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const next = writes.then(work, work);
    writes = next.catch(() => undefined);
    return next;
  };

  const dropEntry = async (digest: string): Promise<void> => {
    entries.delete(digest);
    checked.delete(digest);
    await rm(contentDir(digest), { recursive: true, force: true });
    await rm(manifestPath(digest), { force: true });
  };

  const evictFor = async (incoming: number): Promise<void> => {
    if (incoming > maxBytes)
      throw new PinwardenError(
        'PW_TOO_LARGE',
        `artifact of ${incoming} bytes is over the artifact store's cap of ${maxBytes} bytes`,
      );
    const candidates = [...entries.values()]
      .filter((entry) => !busy.has(entry.digest))
      .sort((a, b) => a.lastUsed - b.lastUsed);
    let used = total();
    for (const entry of candidates) {
      if (used + incoming <= maxBytes) break;
      used -= entry.size;
      await dropEntry(entry.digest);
    }
    if (used + incoming > maxBytes)
      throw new PinwardenError(
        'PW_TOO_LARGE',
        `artifact store full: ${used} bytes in use by artifacts being read, cap ${maxBytes}`,
      );
  };

  /** Re-hashes the files against the manifest the index vouches for. */
  const verifyEntry = async (entry: IndexEntry): Promise<boolean> => {
    try {
      const raw = await readFile(manifestPath(entry.digest));
      if (sha256(raw) !== entry.manifestSha256) return false;
      const manifest = JSON.parse(raw.toString('utf8')) as Manifest;
      if (manifest.digest !== entry.digest) return false;
      const actual = await hashTree(contentDir(entry.digest), maxFiles);
      if (actual.length !== manifest.files.length) return false;
      return actual.every((file, index) => {
        const expected = manifest.files[index];
        return (
          expected !== undefined &&
          expected.path === file.path &&
          expected.size === file.size &&
          expected.sha256 === file.sha256
        );
      });
    } catch {
      return false;
    }
  };

  return {
    async open() {
      await mkdir(dataDir, { recursive: true });
      await rm(tmpDir, { recursive: true, force: true });
      await mkdir(tmpDir, { recursive: true });
      let index: IndexFile | undefined;
      try {
        index = JSON.parse(await readFile(indexPath, 'utf8')) as IndexFile;
      } catch {
        index = undefined;
      }
      entries.clear();
      for (const entry of index?.version === 1 && Array.isArray(index.entries) ? index.entries : []) {
        if (
          typeof entry.digest === 'string' &&
          DIGEST.test(entry.digest) &&
          typeof entry.size === 'number' &&
          typeof entry.manifestSha256 === 'string'
        )
          entries.set(entry.digest, entry);
      }
      // Whatever the index does not vouch for was not (completely) written by this store.
      const known = new Set([...entries.keys()].flatMap((digest) => [hexOf(digest), `${hexOf(digest)}.manifest.json`]));
      for (const name of await readdir(dataDir))
        if (!known.has(name)) await rm(join(dataDir, name), { recursive: true, force: true });
    },
    has: (digest) => entries.has(digest),
    async get(digest) {
      const directory = await this.directoryFor(digest);
      const entry = entries.get(digest);
      if (directory === undefined || !entry) return undefined;
      return {
        digest,
        directory,
        size: entry.size,
        files: entry.files,
        ...(entry.metadata ? { metadata: entry.metadata } : {}),
      };
    },
    async directoryFor(digest) {
      const entry = entries.get(digest);
      if (!entry) return undefined;
      const release = hold(digest);
      try {
        if (!checked.has(digest)) {
          if (!(await verifyEntry(entry))) {
            await serialized(async () => {
              await dropEntry(digest);
              await saveIndex();
            });
            return undefined;
          }
          checked.add(digest);
        }
        entry.lastUsed = now();
        return contentDir(digest);
      } finally {
        release();
      }
    },
    async put(digest, produce) {
      hexOf(digest);
      const release = hold(digest);
      const work = join(tmpDir, randomBytes(8).toString('hex'));
      try {
        await mkdir(work, { recursive: true });
        const content = join(work, 'content');
        const produced = await produce(content);
        const metadata = produced ? produced.metadata : undefined;
        const files = await hashTree(content, maxFiles);
        const size = files.reduce((sum, file) => sum + file.size, 0);
        const manifest = Buffer.from(JSON.stringify({ digest, files } satisfies Manifest));
        return await serialized(async () => {
          if (entries.has(digest)) await dropEntry(digest);
          await evictFor(size);
          await writeAtomically(manifestPath(digest), manifest, tmpDir);
          await rename(content, contentDir(digest));
          entries.set(digest, {
            digest,
            size,
            files: files.length,
            manifestSha256: sha256(manifest),
            lastUsed: now(),
            ...(metadata ? { metadata } : {}),
          });
          checked.add(digest);
          await saveIndex();
          return {
            digest,
            directory: contentDir(digest),
            size,
            files: files.length,
            ...(metadata ? { metadata } : {}),
          };
        });
      } finally {
        release();
        await rm(work, { recursive: true, force: true });
      }
    },
    async remove(digest) {
      await serialized(async () => {
        if (!entries.has(digest)) return;
        await dropEntry(digest);
        await saveIndex();
      });
    },
    size: total,
    digests: () => [...entries.keys()],
  };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function writeAtomically(path: string, content: string | Buffer, tmpDir: string): Promise<void> {
  const temporary = join(tmpDir, `.${randomBytes(8).toString('hex')}.tmp`);
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}

/** Every regular file under `dir` (sorted by path) with size and sha256; anything else fails the check. */
async function hashTree(dir: string, maxFiles: number): Promise<FileRecord[]> {
  const records: FileRecord[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        if (records.length >= maxFiles)
          throw new PinwardenError('PW_ARTIFACT_UNSAFE', `artifact has more than ${maxFiles} files`);
        const info = await stat(path);
        records.push({ path: relative(dir, path).split(sep).join('/'), size: info.size, sha256: await hashFile(path) });
      } else {
        throw new PinwardenError(
          'PW_ARTIFACT_UNSAFE',
          `artifact store: ${relative(dir, path)} is not a regular file or directory`,
        );
      }
    }
  };
  await walk(dir);
  return records.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
