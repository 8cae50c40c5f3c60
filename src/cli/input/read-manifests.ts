/**
 * Reads Kubernetes manifests for `check`: files, directories (recursive: *.yaml, *.yml, *.json), and
 * stdin (`-`). Multi-document YAML and `kind: List` / `*List` objects are flattened. Every object keeps its
 * file and line, and can map a field path back to a line. Unreadable input is reported per source and
 * never stops the other sources from being read.
 */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { LineCounter, isMap, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';

export interface ManifestObject {
  file: string;
  line: number;
  object: unknown;
  /** Line of the deepest existing node along a field path like spec.verify.matchOIDCIdentity[0].subject. */
  lineOf(fieldPath: string): number;
}

export interface InputProblem {
  file: string;
  line?: number;
  message: string;
}

export interface ManifestSet {
  objects: ManifestObject[];
  problems: InputProblem[];
}

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];
const MAX_FILE_BYTES = 64 * 1024 * 1024;
/** YAML anchors expanded per document: enough for real manifests, far below a "billion laughs" bomb. */
const MAX_ALIAS_COUNT = 100;

export async function readManifests(paths: readonly string[], stdin: Readable, cwd: string): Promise<ManifestSet> {
  const result: ManifestSet = { objects: [], problems: [] };
  for (const path of paths) {
    if (path === '-') {
      parseInto(result, '<stdin>', await readStream(stdin));
      continue;
    }
    for (const file of await expandPath(resolve(cwd, path), path, result.problems, new Set())) {
      const text = await readText(file.absolute, file.display, result.problems);
      if (text !== undefined) parseInto(result, file.display, text);
    }
  }
  return result;
}

interface FoundFile {
  absolute: string;
  display: string;
}

async function expandPath(absolute: string, display: string, problems: InputProblem[], seen: Set<string>): Promise<FoundFile[]> {
  try {
    const info = await stat(absolute);
    if (!info.isDirectory()) return [{ absolute, display }];
    const real = await realpath(absolute);
    if (seen.has(real)) return [];
    seen.add(real);
    const entries = (await readdir(absolute, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    const nested = await Promise.all(
      entries
        .filter((entry) => entry.name !== '.git')
        .filter((entry) => entry.isDirectory() || entry.isSymbolicLink() || MANIFEST_EXTENSIONS.some((ext) => entry.name.endsWith(ext)))
        .map((entry) => expandNested(join(absolute, entry.name), join(display, entry.name), problems, seen)),
    );
    return nested.flat();
  } catch (error) {
    problems.push({ file: display, message: describeFsError(error) });
    return [];
  }
}

async function expandNested(absolute: string, display: string, problems: InputProblem[], seen: Set<string>): Promise<FoundFile[]> {
  const found = await expandPath(absolute, display, problems, seen);
  // A symlink to a non-manifest file inside a directory walk is not a manifest.
  return found.filter((file) => file.absolute !== absolute || MANIFEST_EXTENSIONS.some((ext) => absolute.endsWith(ext)));
}

async function readText(absolute: string, display: string, problems: InputProblem[]): Promise<string | undefined> {
  try {
    const info = await stat(absolute);
    if (info.size > MAX_FILE_BYTES) {
      problems.push({ file: display, message: `larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB` });
      return undefined;
    }
    return await readFile(absolute, 'utf8');
  } catch (error) {
    problems.push({ file: display, message: describeFsError(error) });
    return undefined;
  }
}

async function readStream(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

function parseInto(result: ManifestSet, file: string, text: string): void {
  const lineCounter = new LineCounter();
  for (const document of parseAllDocuments(text, { lineCounter, prettyErrors: false })) {
    const error = document.errors[0];
    if (error) {
      const { line } = lineCounter.linePos(error.pos[0]);
      result.problems.push({ file, line, message: `not valid YAML: ${firstLine(error.message)}` });
      continue;
    }
    const contents = document.contents;
    if (contents === null) continue;
    const value = documentValue(document);
    if (value instanceof Error) {
      result.problems.push({ file, line: lineCounter.linePos(contents.range?.[0] ?? 0).line, message: value.message });
      continue;
    }
    collectObjects(result.objects, file, contents, value, lineCounter);
  }
}

/** The document as plain data; an alias bomb (or anything else toJS refuses) is an input problem, not a crash. */
function documentValue(document: Document): unknown {
  try {
    return document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return new Error(`not usable YAML: ${firstLine(reason)}`);
  }
}

function collectObjects(out: ManifestObject[], file: string, node: Node, value: unknown, lineCounter: LineCounter): void {
  const record = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  const kind = typeof record?.kind === 'string' ? record.kind : '';
  const items = record?.items;
  const itemsNode = isMap(node) ? node.get('items', true) : undefined;
  if (kind.endsWith('List') && Array.isArray(items) && isSeq(itemsNode)) {
    items.forEach((item, index) => {
      const itemNode = itemsNode.items[index];
      if (itemNode && typeof itemNode === 'object') collectObjects(out, file, itemNode as Node, item, lineCounter);
    });
    return;
  }
  const lineAt = (target: Node | undefined): number => lineCounter.linePos(target?.range?.[0] ?? 0).line;
  out.push({ file, line: lineAt(node), object: value, lineOf: (fieldPath) => lineAt(deepestNode(node, fieldPath)) });
}

function deepestNode(root: Node, fieldPath: string): Node {
  let node = root;
  for (const segment of splitFieldPath(fieldPath)) {
    const next: unknown = isMap(node) ? node.get(segment, true) : isSeq(node) ? node.get(Number(segment), true) : undefined;
    if (next === undefined || next === null || typeof next !== 'object') break;
    node = next as Node;
  }
  return node;
}

function splitFieldPath(fieldPath: string): string[] {
  return fieldPath.split(/[.[\]]/).filter((segment) => segment !== '');
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
