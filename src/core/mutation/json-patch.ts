/**
 * RFC 6902 JSON Patch: the op type the mutating webhook emits, RFC 6901 pointer escaping, and a small
 * pure `applyPatch` (used by `check --resolve` to print objects as they would be admitted, and by tests to
 * prove a second pass over a patched object plans nothing).
 */
import { PinwardenError } from '../errors.ts';
import { asRecord } from '../flux/objects.ts';

export interface PatchOp {
  op: 'add' | 'replace' | 'remove' | 'test';
  path: string;
  value?: unknown;
}

/** RFC 6901: `~` → `~0` first, then `/` → `~1` (annotation keys such as `pinwarden.dev/pinned-at`). */
export function escapePointerSegment(segment: string): string {
  if (!segment.includes('~') && !segment.includes('/')) return segment;
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function pointerOf(segments: readonly string[]): string {
  return segments.map((segment) => `/${escapePointerSegment(segment)}`).join('');
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw patchError(`JSON pointer "${pointer}" must start with /`);
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Applies ops to a deep copy; objects and arrays only (all the webhook ever emits touches objects). */
export function applyPatch<T>(document: T, ops: readonly PatchOp[]): T {
  let root: unknown = structuredClone(document);
  for (const op of ops) root = applyOne(root, op);
  return root as T;
}

function applyOne(root: unknown, op: PatchOp): unknown {
  const segments = parsePointer(op.path);
  const last = segments.pop();
  if (last === undefined) {
    if (op.op === 'add' || op.op === 'replace') return structuredClone(op.value);
    throw patchError(`"${op.op}" on the document root is not supported`);
  }
  const parent = segments.reduce<unknown>((node, segment) => child(node, segment, op.path), root);
  if (Array.isArray(parent)) applyToArray(parent, last, op);
  else applyToObject(parent, last, op);
  return root;
}

function child(node: unknown, segment: string, path: string): unknown {
  if (Array.isArray(node)) return node[arrayIndex(node, segment, path, false)];
  const record = asRecord(node);
  if (!record || !Object.hasOwn(record, segment)) throw patchError(`path ${path} does not exist`);
  return record[segment];
}

function applyToObject(parent: unknown, key: string, op: PatchOp): void {
  const record = asRecord(parent);
  if (!record) throw patchError(`parent of ${op.path} is not an object`);
  const exists = Object.hasOwn(record, key);
  switch (op.op) {
    case 'add':
      record[key] = structuredClone(op.value);
      return;
    case 'replace':
      if (!exists) throw patchError(`replace target ${op.path} does not exist`);
      record[key] = structuredClone(op.value);
      return;
    case 'remove':
      if (!exists) throw patchError(`remove target ${op.path} does not exist`);
      delete record[key];
      return;
    case 'test':
      if (JSON.stringify(record[key]) !== JSON.stringify(op.value)) throw patchError(`test failed at ${op.path}`);
      return;
  }
}

function applyToArray(parent: unknown[], segment: string, op: PatchOp): void {
  const index = arrayIndex(parent, segment, op.path, op.op === 'add');
  switch (op.op) {
    case 'add':
      parent.splice(index, 0, structuredClone(op.value));
      return;
    case 'replace':
      parent[index] = structuredClone(op.value);
      return;
    case 'remove':
      parent.splice(index, 1);
      return;
    case 'test':
      if (JSON.stringify(parent[index]) !== JSON.stringify(op.value)) throw patchError(`test failed at ${op.path}`);
      return;
  }
}

function arrayIndex(array: unknown[], segment: string, path: string, forAdd: boolean): number {
  if (forAdd && segment === '-') return array.length;
  if (!/^(0|[1-9][0-9]*)$/.test(segment)) throw patchError(`"${segment}" in ${path} is not an array index`);
  const index = Number(segment);
  if (index > array.length || (!forAdd && index === array.length))
    throw patchError(`index ${index} in ${path} is out of range`);
  return index;
}

function patchError(message: string): PinwardenError {
  return new PinwardenError('PW_INTERNAL', `JSON patch: ${message}`);
}
