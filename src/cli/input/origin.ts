/**
 * Back to the file in Git: objects that `kustomize build` annotated with their origin
 * (`buildMetadata: [originAnnotations]` → `config.kubernetes.io/origin: "path: base/app.yaml"`) or that
 * kpt / KRM functions annotated with `internal.config.kubernetes.io/path` and `…/index` are reported at that
 * file, and at the object's own lines in it when the object can be found there. Origin paths are relative to
 * the kustomization root (`--origin-root`, default the working directory). A remote origin (`repo:`) keeps
 * the input's position. Parsed origin files are cached, a few at a time.
 */
import { readFile, stat } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { asRecord, asString } from '../../core/flux/index.ts';
import { createBoundedCache } from '../../runtime/index.ts';
import { collectObjects, parseDocuments, type ManifestObject } from './read-manifests.ts';

export const ORIGIN_ANNOTATION = 'config.kubernetes.io/origin';
const PATH_ANNOTATIONS = ['internal.config.kubernetes.io/path', 'config.kubernetes.io/path'];
const INDEX_ANNOTATIONS = ['internal.config.kubernetes.io/index', 'config.kubernetes.io/index'];
const CACHE_FILES = 16;
const MAX_ORIGIN_FILE_BYTES = 16 * 1024 * 1024;
const MAX_ORIGIN_TEXT = 4096;

export interface Origin {
  path: string;
  index?: number;
}

/** The local origin an object's annotations name, if any. */
export function originOf(object: unknown): Origin | undefined {
  const annotations = asRecord(asRecord(asRecord(object)?.metadata)?.annotations) ?? {};
  const origin = asString(annotations[ORIGIN_ANNOTATION]);
  if (origin !== undefined && origin.length <= MAX_ORIGIN_TEXT) {
    let parsed: unknown;
    try {
      parsed = parse(origin, { maxAliasCount: 0 });
    } catch {
      parsed = undefined;
    }
    const record = asRecord(parsed);
    const path = asString(record?.path);
    if (path !== undefined && path !== '' && record?.repo === undefined) return { path };
  }
  for (const [i, name] of PATH_ANNOTATIONS.entries()) {
    const path = asString(annotations[name]);
    if (path === undefined || path === '') continue;
    const index = Number(asString(annotations[INDEX_ANNOTATIONS[i] ?? '']));
    return { path, ...(Number.isInteger(index) && index >= 0 ? { index } : {}) };
  }
  return undefined;
}

export class OriginLocator {
  // One run's origin files, parsed: the last few by use (an evicted one is parsed again when needed).
  private readonly cache = createBoundedCache<ManifestObject[]>({
    maxEntries: CACHE_FILES,
    maxBytes: Number.POSITIVE_INFINITY,
    ttlMs: Number.POSITIVE_INFINITY,
    sizeOf: () => 0,
  });
  /** Origin files that could not be read, reported once each. */
  readonly missing = new Set<string>();

  private readonly root: string;
  private readonly cwd: string;

  constructor(root: string, cwd: string) {
    this.root = root;
    this.cwd = cwd;
  }

  /** The manifest re-pointed at its origin file and lines, or unchanged when it names no local origin. */
  async locate(manifest: ManifestObject): Promise<ManifestObject> {
    const origin = originOf(manifest.object);
    if (!origin) return manifest;
    const absolute = resolve(this.root, origin.path);
    const display = relative(this.cwd, absolute).split(sep).join('/') || origin.path;
    const objects = await this.objectsOf(absolute, display);
    const match = objects === undefined ? undefined : findObject(objects, manifest.object, origin.index);
    if (!match) return { file: display, line: 1, object: manifest.object, lineOf: () => 1 };
    return { file: display, line: match.line, object: manifest.object, lineOf: (fieldPath) => match.lineOf(fieldPath) };
  }

  private async objectsOf(absolute: string, display: string): Promise<ManifestObject[] | undefined> {
    const cached = this.cache.get(absolute);
    if (cached) return cached;
    if (this.missing.has(display)) return undefined;
    try {
      if ((await stat(absolute)).size > MAX_ORIGIN_FILE_BYTES) throw new Error('too large');
      const objects: ManifestObject[] = [];
      for (const document of parseDocuments(await readFile(absolute, 'utf8'))) {
        if ('node' in document) collectObjects(objects, display, document.node, document.value, document.lineCounter);
      }
      this.cache.set(absolute, objects);
      return objects;
    } catch {
      this.missing.add(display);
      return undefined;
    }
  }
}

/** The object in its origin file: by index when given, else by kind and name (kustomize may add a prefix or suffix). */
function findObject(
  objects: readonly ManifestObject[],
  object: unknown,
  index: number | undefined,
): ManifestObject | undefined {
  if (index !== undefined) return objects[index];
  const kind = asString(asRecord(object)?.kind);
  const name = asString(asRecord(asRecord(object)?.metadata)?.name) ?? '';
  const sameKind = objects.filter((candidate) => asString(asRecord(candidate.object)?.kind) === kind);
  const nameOf = (candidate: ManifestObject): string =>
    asString(asRecord(asRecord(candidate.object)?.metadata)?.name) ?? '';
  const exact = sameKind.find((candidate) => nameOf(candidate) === name);
  if (exact) return exact;
  const contained = sameKind
    .filter((candidate) => nameOf(candidate) !== '' && name.includes(nameOf(candidate)))
    .sort((a, b) => nameOf(b).length - nameOf(a).length);
  if (contained[0]) return contained[0];
  return sameKind.length === 1 ? sameKind[0] : undefined;
}
