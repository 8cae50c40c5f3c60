// Where the bin entry keeps Node's compile cache, and when it refuses to: runtime/compile-cache.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileCacheDirectory } from '../../../src/runtime/compile-cache.ts';

const uid = process.getuid?.();

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'pinwarden-compile-cache-'));
}

test('the cache lives under XDG_CACHE_HOME, created level by level, private to the user', (t) => {
  const root = scratch();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const directory = compileCacheDirectory({ env: { XDG_CACHE_HOME: root }, home: () => '/nowhere', uid });
  assert.equal(directory, join(root, 'pinwarden', 'compile-cache'));
  assert.equal(statSync(directory).mode & 0o077, 0, 'created 0700');
  // A second run finds it and takes it again.
  assert.equal(compileCacheDirectory({ env: { XDG_CACHE_HOME: root }, home: () => '/nowhere', uid }), directory);
});

test('without XDG_CACHE_HOME it is ~/.cache/pinwarden/compile-cache, creating ~/.cache', (t) => {
  const home = scratch();
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const directory = compileCacheDirectory({ env: { XDG_CACHE_HOME: 'relative/ignored' }, home: () => home, uid });
  assert.equal(directory, join(home, '.cache', 'pinwarden', 'compile-cache'));
});

test("Node's own variables decide: NODE_COMPILE_CACHE set or NODE_DISABLE_COMPILE_CACHE set → nothing created", (t) => {
  const root = scratch();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const env of [{ NODE_COMPILE_CACHE: '/elsewhere' }, { NODE_DISABLE_COMPILE_CACHE: '1' }]) {
    assert.equal(compileCacheDirectory({ env: { ...env, XDG_CACHE_HOME: root }, home: () => root, uid }), undefined);
  }
  assert.throws(() => statSync(join(root, 'pinwarden')), /ENOENT/);
});

test('a home that does not exist, or a path under /proc, leaves the cache off without hanging', () => {
  const missing = join(tmpdir(), `pinwarden-missing-${process.pid}`, 'deeper');
  assert.equal(compileCacheDirectory({ env: {}, home: () => missing, uid }), undefined);
  assert.equal(
    compileCacheDirectory({ env: { XDG_CACHE_HOME: '/proc/no-such-dir' }, home: () => '/', uid }),
    undefined,
  );
  assert.equal(
    compileCacheDirectory({
      env: {},
      home: () => {
        throw new Error('no home');
      },
      uid,
    }),
    undefined,
  );
});

test('a cache directory that others may write, that is a link, or that another user owns is not used', (t) => {
  const root = scratch();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const own = join(root, 'pinwarden');
  mkdirSync(join(own, 'compile-cache'), { recursive: true, mode: 0o700 });
  chmodSync(own, 0o700);
  chmodSync(join(own, 'compile-cache'), 0o777);
  assert.equal(compileCacheDirectory({ env: { XDG_CACHE_HOME: root }, home: () => root, uid }), undefined, '0777');
  chmodSync(join(own, 'compile-cache'), 0o700);
  chmodSync(own, 0o777);
  assert.equal(
    compileCacheDirectory({ env: { XDG_CACHE_HOME: root }, home: () => root, uid }),
    undefined,
    'parent 0777',
  );
  chmodSync(own, 0o700);
  if (uid !== undefined) {
    const other = uid + 1;
    assert.equal(compileCacheDirectory({ env: { XDG_CACHE_HOME: root }, home: () => root, uid: other }), undefined);
  }
  const linked = scratch();
  t.after(() => rmSync(linked, { recursive: true, force: true }));
  mkdirSync(join(linked, 'pinwarden'), { mode: 0o700 });
  symlinkSync(join(own, 'compile-cache'), join(linked, 'pinwarden', 'compile-cache'));
  assert.equal(compileCacheDirectory({ env: { XDG_CACHE_HOME: linked }, home: () => linked, uid }), undefined, 'link');
  assert.equal(
    compileCacheDirectory({ env: { XDG_CACHE_HOME: root }, home: () => root, uid }),
    join(own, 'compile-cache'),
    'the private one is used',
  );
});
