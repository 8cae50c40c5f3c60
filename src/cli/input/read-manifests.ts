/**
 * Reads Kubernetes manifests for `check`: files, directories (see select-files.ts) and stdin (`-`).
 * Multi-document YAML and `kind: List` / `*List` objects are flattened. Every object keeps its file and
 * line, and maps a field path back to a line. `streamManifests` yields one source at a time so `check`
 * keeps only findings, never every parsed file; `readManifests` collects them (for `--resolve`).
 * Unreadable input is reported per source and never stops the other sources from being read.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';
import { describeFsError, emptySelectionLog, selectFiles, type FoundFile, type SelectionLog } from './select-files.ts';

export interface ManifestObject {
  file: string;
  line: number;
  object: unknown;
  /** Line of a field path like spec.verify.matchOIDCIdentity[0].subject; a missing field: its nearest existing parent key. */
  lineOf(fieldPath: string): number;
}

export interface InputProblem {
  file: string;
  line?: number;
  message: string;
}

/** One file (or stdin) read and parsed. */
export interface ParsedSource {
  file: string;
  /** Non-empty YAML documents in it (a file of comments only has none). */
  documents: number;
  objects: ManifestObject[];
  problems: InputProblem[];
}

export interface ManifestSet {
  objects: ManifestObject[];
  problems: InputProblem[];
  documents: number;
  emptyFiles: string[];
  selection: SelectionLog;
}

export interface ReadOptions {
  exclude?: readonly string[];
}

export const STDIN = '<stdin>';
const MAX_FILE_BYTES = 64 * 1024 * 1024;
/** YAML anchors expanded per document: enough for real manifests, far below a "billion laughs" bomb. */
const MAX_ALIAS_COUNT = 100;

/** Every source in order, one at a time; selection problems (unreadable paths) land in `log`. */
export async function* streamManifests(
  paths: readonly string[],
  stdin: Readable,
  cwd: string,
  options: ReadOptions,
  log: SelectionLog,
): AsyncGenerator<ParsedSource> {
  for (const path of paths) {
    if (path === '-') {
      yield await readStdin(stdin);
      continue;
    }
    for await (const file of selectFiles(path, cwd, options.exclude ?? [], log)) {
      yield await readSource(file);
    }
  }
}

export async function readManifests(
  paths: readonly string[],
  stdin: Readable,
  cwd: string,
  options: ReadOptions = {},
): Promise<ManifestSet> {
  const selection = emptySelectionLog();
  const result: ManifestSet = { objects: [], problems: [], documents: 0, emptyFiles: [], selection };
  for await (const source of streamManifests(paths, stdin, cwd, options, selection)) {
    result.objects.push(...source.objects);
    result.problems.push(...source.problems);
    result.documents += source.documents;
    if (source.documents === 0 && source.problems.length === 0) result.emptyFiles.push(source.file);
  }
  result.problems.push(...selection.problems);
  return result;
}

async function readSource(file: FoundFile): Promise<ParsedSource> {
  try {
    const info = await stat(file.absolute);
    if (info.size > MAX_FILE_BYTES) {
      return {
        file: file.display,
        documents: 0,
        objects: [],
        problems: [{ file: file.display, message: `larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB` }],
      };
    }
    return parseSource(file.display, await readFile(file.absolute, 'utf8'));
  } catch (error) {
    return {
      file: file.display,
      documents: 0,
      objects: [],
      problems: [{ file: file.display, message: describeFsError(error) }],
    };
  }
}

async function readStdin(stdin: Readable): Promise<ParsedSource> {
  try {
    return parseSource(STDIN, await readStream(stdin));
  } catch (error) {
    const message =
      error instanceof TooLarge ? `larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB` : describeFsError(error);
    return { file: STDIN, documents: 0, objects: [], problems: [{ file: STDIN, message }] };
  }
}

async function readStream(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_FILE_BYTES) {
      stream.destroy();
      throw new TooLarge();
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

class TooLarge extends Error {}

/** Parses one text into objects; exported for the origin locator, which re-reads the files in Git. */
export function parseSource(file: string, text: string): ParsedSource {
  const source: ParsedSource = { file, documents: 0, objects: [], problems: [] };
  for (const parsed of parseDocuments(text)) {
    if ('problem' in parsed) {
      source.problems.push({ file, line: parsed.line, message: parsed.problem });
      continue;
    }
    source.documents += 1;
    collectObjects(source.objects, file, parsed.node, parsed.value, parsed.lineCounter);
  }
  return source;
}

export type ParsedDocument =
  { node: Node; value: unknown; lineCounter: LineCounter } | { problem: string; line: number };

/** The non-empty documents of a YAML stream, each as a node tree and plain data, or a problem with its line. */
export function parseDocuments(text: string): ParsedDocument[] {
  const lineCounter = new LineCounter();
  const out: ParsedDocument[] = [];
  for (const document of parseAllDocuments(text, { lineCounter, prettyErrors: false })) {
    const error = document.errors[0];
    if (error) {
      out.push({
        problem: `not valid YAML: ${firstLine(error.message)}`,
        line: lineCounter.linePos(error.pos[0]).line,
      });
      continue;
    }
    const contents = document.contents;
    if (contents === null) continue;
    const value = documentValue(document);
    if (value instanceof Error) {
      out.push({ problem: value.message, line: lineCounter.linePos(contents.range?.[0] ?? 0).line });
      continue;
    }
    // An explicit but empty document (`---` and nothing after it) holds no object: it is not a document read.
    if (value === null || value === undefined) continue;
    out.push({ node: contents, value, lineCounter });
  }
  return out;
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

export function collectObjects(
  out: ManifestObject[],
  file: string,
  node: Node,
  value: unknown,
  lineCounter: LineCounter,
): void {
  const record =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
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
  out.push({
    file,
    line: lineAt(lineCounter, node),
    object: value,
    lineOf: (fieldPath) => lineOfField(node, lineCounter, fieldPath),
  });
}

function lineAt(lineCounter: LineCounter, node: { range?: readonly number[] | null } | undefined | null): number {
  return lineCounter.linePos(node?.range?.[0] ?? 0).line;
}

/**
 * The line of a field: the line of its key when it exists (`subject:` in `- issuer: …\n  subject: …`),
 * else the line of its nearest existing parent's key (`spec:` for a missing spec.url), else the object's.
 */
export function lineOfField(root: Node, lineCounter: LineCounter, fieldPath: string): number {
  let node: Node = root;
  let line = lineAt(lineCounter, root);
  for (const segment of splitFieldPath(fieldPath)) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === segment);
      if (!pair || !isPair(pair)) break;
      line = lineAt(lineCounter, pair.key as Node);
      if (pair.value === null || typeof pair.value !== 'object') break;
      node = pair.value as Node;
    } else if (isSeq(node)) {
      const item: unknown = node.items[Number(segment)];
      if (item === undefined || item === null || typeof item !== 'object') break;
      node = item as Node;
      line = lineAt(lineCounter, node);
    } else {
      break;
    }
  }
  return line;
}

function splitFieldPath(fieldPath: string): string[] {
  return fieldPath.split(/[.[\]]/).filter((segment) => segment !== '');
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

export { describeFsError };
