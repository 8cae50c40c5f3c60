import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, escapePointerSegment, pointerOf } from '../../../../src/core/mutation/index.ts';
import { PinwardenError } from '../../../../src/core/errors.ts';

test('escapePointerSegment: ~ before /', () => {
  assert.equal(escapePointerSegment('pinwarden.dev/pinned-at'), 'pinwarden.dev~1pinned-at');
  assert.equal(escapePointerSegment('a~/b'), 'a~0~1b');
  assert.equal(pointerOf(['metadata', 'annotations', 'x/y']), '/metadata/annotations/x~1y');
});

test('applyPatch: add, replace, remove, test over objects and arrays; input untouched', () => {
  const input = { a: { 'x/y': 1, '~k': 2 }, list: [1, 2] };
  const out = applyPatch(input, [
    { op: 'add', path: '/a/new', value: { n: 1 } },
    { op: 'replace', path: '/a/x~1y', value: 9 },
    { op: 'remove', path: '/a/~0k' },
    { op: 'add', path: '/list/-', value: 3 },
    { op: 'add', path: '/list/0', value: 0 },
    { op: 'test', path: '/list', value: [0, 1, 2, 3] },
  ]);
  assert.deepEqual(out, { a: { 'x/y': 9, new: { n: 1 } }, list: [0, 1, 2, 3] });
  assert.deepEqual(input, { a: { 'x/y': 1, '~k': 2 }, list: [1, 2] });
});

test('applyPatch: bad paths throw PinwardenError', () => {
  for (const op of [
    { op: 'replace' as const, path: '/missing', value: 1 },
    { op: 'add' as const, path: '/a/b/c', value: 1 },
    { op: 'test' as const, path: '/a', value: 2 },
    { op: 'add' as const, path: 'no-slash', value: 1 },
  ]) {
    assert.throws(
      () => applyPatch({ a: 1 }, [op]),
      (error: unknown) => error instanceof PinwardenError,
    );
  }
});
