// Issue #10 item 3: the bounded artifact store (size cap, LRU eviction, restart without trusting files it did
// not write).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactStore } from '../../../src/controller/source/store.ts';

const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
const fill =
  (files: Record<string, string>) =>
  async (dir: string): Promise<void> => {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
  };

function tempRoot(t: { after(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'pw-store-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

test('put then directoryFor hands out the content; unknown digests are absent', async (t) => {
  const store = createArtifactStore({ root: tempRoot(t) });
  await store.open();
  const stored = await store.put(digest(1), fill({ 'a.yaml': 'kind: A\n', 'sub/b.yaml': 'kind: B\n' }));
  assert.equal(stored.files, 2);
  assert.equal(stored.size, 16);
  const dir = await store.directoryFor(digest(1));
  assert.deepEqual(readdirSync(dir!).sort(), ['a.yaml', 'sub']);
  assert.equal(await store.directoryFor(digest(2)), undefined);
});

test('after a restart: intact artifacts are served, a tampered one is dropped, foreign files are removed', async (t) => {
  const root = tempRoot(t);
  const first = createArtifactStore({ root });
  await first.open();
  await first.put(digest(1), fill({ 'a.yaml': 'one' }));
  const tampered = await first.put(digest(2), fill({ 'a.yaml': 'two' }));
  const added = await first.put(digest(3), fill({ 'a.yaml': 'three' }));
  writeFileSync(join(tampered.directory, 'a.yaml'), 'evil');
  writeFileSync(join(added.directory, 'extra.yaml'), 'planted');
  mkdirSync(join(root, 'data', 'f'.repeat(64)));
  writeFileSync(join(root, 'data', 'f'.repeat(64), 'x.yaml'), 'not ours');

  const second = createArtifactStore({ root });
  await second.open();
  assert.equal(existsSync(join(root, 'data', 'f'.repeat(64))), false, 'a directory the index does not list is removed');
  assert.ok(await second.directoryFor(digest(1)));
  assert.equal(await second.directoryFor(digest(2)), undefined, 'a changed file');
  assert.equal(await second.directoryFor(digest(3)), undefined, 'a file added behind the store');
  assert.deepEqual(second.digests(), [digest(1)]);
});

test('a corrupt or missing index trusts nothing', async (t) => {
  const root = tempRoot(t);
  const first = createArtifactStore({ root });
  await first.open();
  await first.put(digest(1), fill({ 'a.yaml': 'one' }));
  writeFileSync(join(root, 'index.json'), '{not json');
  const second = createArtifactStore({ root });
  await second.open();
  assert.equal(await second.directoryFor(digest(1)), undefined);
  assert.deepEqual(readdirSync(join(root, 'data')), []);
});

test('the size cap evicts the least recently used artifact; one artifact over the cap is refused', async (t) => {
  let clock = 0;
  const store = createArtifactStore({ root: tempRoot(t), maxBytes: 25, now: () => ++clock });
  await store.open();
  await store.put(digest(1), fill({ a: '0123456789' }));
  await store.put(digest(2), fill({ a: '0123456789' }));
  await store.directoryFor(digest(1)); // 1 is now more recently used than 2
  await store.put(digest(3), fill({ a: '0123456789' }));
  assert.deepEqual(store.digests().sort(), [digest(1), digest(3)]);
  assert.ok(store.size() <= 25);
  await assert.rejects(
    store.put(digest(4), fill({ a: 'x'.repeat(30) })),
    (error: Error & { code?: string }) => error.code === 'PW_TOO_LARGE',
  );
  assert.equal(await store.directoryFor(digest(4)), undefined, 'nothing half-written is visible');
});

test('a failing producer leaves nothing behind; a bad digest is refused', async (t) => {
  const root = tempRoot(t);
  const store = createArtifactStore({ root });
  await store.open();
  await assert.rejects(
    store.put(digest(5), async (dir) => {
      mkdirSync(dir);
      writeFileSync(join(dir, 'half'), 'x');
      throw new Error('extraction failed');
    }),
    /extraction failed/,
  );
  assert.equal(store.has(digest(5)), false);
  assert.deepEqual(
    readdirSync(join(root, 'tmp')).filter((name) => !name.startsWith('.')),
    [],
  );
  await assert.rejects(
    store.put('sha256:../../etc', fill({})),
    (error: Error & { code?: string }) => error.code === 'PW_INPUT_INVALID',
  );
});
