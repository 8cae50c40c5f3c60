/**
 * Reads the plain manifests under a Kustomization's `path` in an extracted artifact, the way
 * kustomize-controller's generator scans them (fluxcd/pkg `kustomize` `generateKustomization`):
 * every `*.yaml` / `*.yml` file under the path, nested directories included, walked in lexical order;
 * other files are ignored. Where Flux would run `kustomize build` (a `kustomization.yaml`,
 * `kustomization.yml` or `Kustomization` file at the path or in a sub-directory), pinwarden stops with
 * `BuildFailed`: no template engine runs in the cluster, the overlay must be rendered in CI.
 *
 * Bounded: file count, bytes per file, total bytes, documents, directory depth and YAML aliases are
 * capped; symlinks are never followed. Every problem is a `PW_BUILD_FAILED` (or `PW_ARTIFACT_FAILED`
 * for a missing path) naming the file and line.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { PinwardenError } from '../../core/errors.ts';
import { describe, encodeId, isRecord, objectId } from './objects.ts';
import type { KubeObject } from './objects.ts';

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

export interface ManifestLimits {
  maxFiles: number;
  maxFileBytes: number;
  maxTotalBytes: number;
  maxObjects: number;
  maxDepth: number;
}

export const DEFAULT_MANIFEST_LIMITS: ManifestLimits = {
  maxFiles: 5_000,
  maxFileBytes: 16 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  maxObjects: 10_000,
  maxDepth: 32,
};

/** YAML anchors expanded per document: real manifests use a handful; a "billion laughs" needs many. */
const MAX_ALIAS_COUNT = 100;

export interface ManifestObject {
  object: KubeObject;
  /** Path relative to the artifact root, with `/`. */
  file: string;
  line: number;
}

/**
 * The directory `path` names inside `root`, joined as Flux's securejoin does: `..` never climbs above
 * the root (it is resolved as if the root were `/`).
 */
export function secureJoin(root: string, path: string): string {
  const parts: string[] = [];
  for (const part of path.split(/[\\/]+/)) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return resolve(root, ...parts);
}

function buildFailed(message: string, details: Record<string, unknown> = {}): PinwardenError {
  return new PinwardenError('PW_BUILD_FAILED', message, { details });
}

export async function readManifests(
  root: string,
  path: string,
  limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS,
): Promise<ManifestObject[]> {
  const base = secureJoin(root, path);
  const shown = (absolute: string): string => relative(root, absolute).split(sep).join('/') || '.';
  const info = await lstat(base).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) {
    throw new PinwardenError(
      'PW_ARTIFACT_FAILED',
      `kustomization path not found: ${path === '' ? './' : path} is not a directory in the artifact`,
      { details: { path } },
    );
  }
  const files: string[] = [];
  let bytes = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > limits.maxDepth)
      throw buildFailed(`${shown(dir)}: directories nested deeper than ${limits.maxDepth} levels`);
    const names = (await readdir(dir)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of KUSTOMIZATION_FILES) {
      if (!names.includes(name)) continue;
      const found = await lstat(join(dir, name));
      if (found.isFile()) {
        throw buildFailed(
          `${shown(join(dir, name))} needs a kustomize build: pinwarden applies plain manifests only and runs no build in the cluster; render the overlay in CI (kustomize build) and push the output`,
          { file: shown(join(dir, name)) },
        );
      }
    }
    for (const name of names) {
      const full = join(dir, name);
      const entry = await lstat(full);
      if (entry.isSymbolicLink()) continue;
      if (entry.isDirectory()) {
        await walk(full, depth + 1);
        continue;
      }
      if (!entry.isFile() || !(name.endsWith('.yaml') || name.endsWith('.yml'))) continue;
      if (files.length >= limits.maxFiles)
        throw buildFailed(`more than ${limits.maxFiles} manifest files under ${path === '' ? './' : path}`);
      if (entry.size > limits.maxFileBytes)
        throw buildFailed(
          `${shown(full)}: ${entry.size} bytes is over the ${limits.maxFileBytes}-byte cap per manifest file`,
          { file: shown(full) },
        );
      bytes += entry.size;
      if (bytes > limits.maxTotalBytes)
        throw buildFailed(`manifests under ${path === '' ? './' : path} are over the ${limits.maxTotalBytes}-byte cap`);
      files.push(full);
    }
  };
  await walk(base, 0);

  const objects: ManifestObject[] = [];
  const seen = new Map<string, string>();
  for (const full of files) {
    const file = shown(full);
    const text = await readFile(full, 'utf8');
    for (const found of parseManifestText(text, file)) {
      if (objects.length >= limits.maxObjects)
        throw buildFailed(`more than ${limits.maxObjects} objects under ${path === '' ? './' : path}`);
      const key = encodeId(objectId(found.object)) + '|' + (found.object.metadata.namespace ?? '');
      const previous = seen.get(key);
      if (previous !== undefined) {
        throw buildFailed(
          `${file}:${found.line}: ${describe(found.object)} is defined twice (also at ${previous}): may not add resource with an already registered id`,
          { file, line: found.line },
        );
      }
      seen.set(key, `${file}:${found.line}`);
      objects.push(found);
    }
  }
  return objects;
}

/** One file's documents as objects (empty documents skipped, `kind: List` expanded). Throws PW_BUILD_FAILED. */
export function parseManifestText(text: string, file: string): ManifestObject[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const out: ManifestObject[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const problem = doc.errors[0];
    if (problem !== undefined) {
      const line = lines.linePos(problem.pos[0]).line;
      throw buildFailed(`failed to decode Kubernetes YAML from ${file}:${line}: ${problem.message.split('\n')[0]}`, {
        file,
        line,
      });
    }
    const line = doc.contents === null ? 1 : lines.linePos(doc.contents.range[0]).line;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      throw buildFailed(
        `failed to decode Kubernetes YAML from ${file}:${line}: ${(error as Error).message.split('\n')[0]}`,
        { file, line },
      );
    }
    if (value === null || value === undefined) continue;
    for (const object of expandList(value, file, line))
      out.push({ object: checkObject(object, file, line), file, line });
  }
  return out;
}

function expandList(value: unknown, file: string, line: number): unknown[] {
  if (isRecord(value) && value.kind === 'List' && typeof value.apiVersion === 'string') {
    if (value.items === undefined || value.items === null) return [];
    if (!Array.isArray(value.items))
      throw buildFailed(`failed to decode Kubernetes YAML from ${file}:${line}: a List's items is not a sequence`, {
        file,
        line,
      });
    return value.items as unknown[];
  }
  return [value];
}

function checkObject(value: unknown, file: string, line: number): KubeObject {
  const where = `${file}:${line}`;
  if (!isRecord(value))
    throw buildFailed(
      `failed to decode Kubernetes YAML from ${where}: a document is not a mapping (Kubernetes object)`,
      { file, line },
    );
  if (typeof value.apiVersion !== 'string' || value.apiVersion === '')
    throw buildFailed(`failed to decode Kubernetes YAML from ${where}: missing apiVersion`, { file, line });
  if (typeof value.kind !== 'string' || value.kind === '')
    throw buildFailed(`failed to decode Kubernetes YAML from ${where}: missing kind`, { file, line });
  const metadata = value.metadata;
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
    throw buildFailed(`failed to decode Kubernetes YAML from ${where}: ${value.kind} has no metadata.name`, {
      file,
      line,
    });
  }
  if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string')
    throw buildFailed(`${where}: metadata.namespace is not a string`, { file, line });
  for (const key of ['labels', 'annotations'] as const) {
    const map = metadata[key];
    if (map === undefined || map === null) continue;
    if (!isRecord(map) || Object.values(map).some((item) => typeof item !== 'string')) {
      throw buildFailed(`${where}: metadata.${key} of ${value.kind}/${metadata.name} must map strings to strings`, {
        file,
        line,
      });
    }
  }
  return value as KubeObject;
}

/**
 * Kinds kustomize's namespace transformer leaves without a namespace: the built-in cluster-scoped
 * kinds, plus the kinds of cluster-scoped CRDs in the same set. Everything else gets `targetNamespace`.
 */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'RuntimeClass',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'CertificateSigningRequest',
  'FlowSchema',
  'PriorityLevelConfiguration',
  'ComponentStatus',
  'VolumeSnapshotClass',
  'GatewayClass',
  'DeviceClass',
  'ClusterTrustBundle',
  'StorageVersionMigration',
]);

export function setTargetNamespace(objects: readonly KubeObject[], namespace: string | undefined): KubeObject[] {
  if (namespace === undefined || namespace === '') return objects.slice();
  const clusterCrdKinds = new Set<string>();
  for (const object of objects) {
    if (object.kind !== 'CustomResourceDefinition') continue;
    const spec = object.spec;
    if (isRecord(spec) && spec.scope === 'Cluster' && isRecord(spec.names) && typeof spec.names.kind === 'string')
      clusterCrdKinds.add(spec.names.kind);
  }
  return objects.map((object) => {
    const bound = withDefaultSubjects(object, namespace);
    if (CLUSTER_SCOPED.has(bound.kind) || clusterCrdKinds.has(bound.kind)) return bound;
    return { ...bound, metadata: { ...bound.metadata, namespace } };
  });
}

/**
 * kustomize's namespace transformer (default `DefaultSubjectsOnly`): in RoleBindings and ClusterRoleBindings,
 * a ServiceAccount subject named `default` moves to the target namespace; other subjects keep theirs.
 */
function withDefaultSubjects(object: KubeObject, namespace: string): KubeObject {
  if (
    !object.apiVersion.startsWith('rbac.authorization.k8s.io/') ||
    (object.kind !== 'RoleBinding' && object.kind !== 'ClusterRoleBinding')
  )
    return object;
  if (!Array.isArray(object.subjects)) return object;
  const subjects = (object.subjects as unknown[]).map((subject) =>
    isRecord(subject) && subject.kind === 'ServiceAccount' && subject.name === 'default'
      ? { ...subject, namespace }
      : subject,
  );
  return { ...object, subjects };
}
