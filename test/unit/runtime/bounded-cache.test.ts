import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheKeyOf, createBoundedCache } from '../../../src/runtime/index.ts';

function clock(start = 1_000): { now: () => number; advance(ms: number): void } {
  let at = start;
  return { now: () => at, advance: (ms) => void (at += ms) };
}

test('entries expire after their TTL on the injected clock', () => {
  const time = clock();
  const cache = createBoundedCache<string>({ maxEntries: 10, maxBytes: 1 << 20, ttlMs: 100, now: time.now });
  cache.set('a', 'A');
  cache.set('b', 'B', 500);
  time.advance(99);
  assert.equal(cache.get('a'), 'A');
  time.advance(1);
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.get('b'), 'B');
});

test('expired entries are swept on a later write, not only skipped on read', () => {
  const time = clock();
  const cache = createBoundedCache<string>({ maxEntries: 1000, maxBytes: 1 << 20, ttlMs: 50, now: time.now });
  for (let index = 0; index < 100; index++) cache.set(`key-${index}`, 'value');
  assert.equal(cache.size, 100);
  time.advance(60);
  cache.set('fresh', 'value');
  assert.equal(cache.size, 1, 'the 100 expired entries were dropped by the sweep');
  assert.ok(cache.bytes < 1000);
});

test('the entry bound drops the least recently used entry', () => {
  const cache = createBoundedCache<number>({ maxEntries: 3, maxBytes: 1 << 20, ttlMs: 10_000 });
  cache.set('a', 1);
  cache.set('b', 2);
  cache.set('c', 3);
  assert.equal(cache.get('a'), 1, 'a is now the most recently used');
  cache.set('d', 4);
  assert.equal(cache.size, 3);
  assert.equal(cache.get('b'), undefined, 'b was the least recently used');
  assert.equal(cache.get('a'), 1);
  assert.equal(cache.get('d'), 4);
});

test('an entry read between writes outlives the entries never read; when all were read, the oldest leaves', () => {
  const cache = createBoundedCache<number>({ maxEntries: 4, maxBytes: 1 << 20, ttlMs: 10_000 });
  cache.set('hot', 0);
  for (let index = 0; index < 100; index++) {
    assert.equal(cache.get('hot'), 0, `hot survives write ${index}`);
    cache.set(`cold${index}`, index);
    assert.equal(cache.size, Math.min(4, index + 2));
  }
  assert.deepEqual([...cache.values()].sort(), [0, 97, 98, 99]);
  for (const key of ['cold97', 'cold98', 'cold99', 'hot']) cache.get(key);
  cache.set('new', 1);
  assert.equal(cache.get('cold97'), undefined, 'every entry was read: the one longest in the cache left');
  assert.deepEqual([...cache.values()].sort(), [0, 1, 98, 99]);
});

test('the byte bound holds whatever the values weigh; a value above the whole budget is not stored', () => {
  const cache = createBoundedCache<string>({ maxEntries: 1_000_000, maxBytes: 64 * 1024, ttlMs: 10_000 });
  for (let index = 0; index < 1000; index++) cache.set(`k${index}`, 'x'.repeat(1000));
  assert.ok(cache.bytes <= 64 * 1024, `bytes ${cache.bytes}`);
  assert.ok(cache.size < 40 && cache.size > 20, `size ${cache.size}`);
  cache.set('huge', 'y'.repeat(100_000));
  assert.equal(cache.get('huge'), undefined);
  assert.ok(cache.bytes <= 64 * 1024);
});

test('long keys are stored as their sha256: a 3 MB key costs no more than a short one', () => {
  const cache = createBoundedCache<number>({ maxEntries: 10, maxBytes: 10_000, ttlMs: 10_000 });
  const huge = `oci://${'a'.repeat(3 * 1024 * 1024)}`;
  cache.set(huge, 1);
  const withHugeKey = cache.bytes;
  cache.clear();
  cache.set('short', 1);
  assert.equal(cache.bytes, withHugeKey);
  cache.set(huge, 2);
  assert.equal(cache.get(huge), 2);
  assert.equal(cacheKeyOf(huge).length, 44);
  assert.equal(cacheKeyOf('short'), 'short');
  assert.notEqual(cacheKeyOf(`#${'x'.repeat(10)}`), `#${'x'.repeat(10)}`, 'a short key cannot pose as a hash');
});

test('delete and clear release the bytes', () => {
  const cache = createBoundedCache<string>({ maxEntries: 10, maxBytes: 1 << 20, ttlMs: 10_000 });
  cache.set('a', 'x'.repeat(100));
  cache.set('b', 'x'.repeat(100));
  const both = cache.bytes;
  cache.delete('a');
  assert.ok(cache.bytes < both && cache.bytes > 0);
  cache.clear();
  assert.equal(cache.bytes, 0);
  assert.equal(cache.size, 0);
});

test('onEvict sees exactly the values that leave by eviction or expiry, not by delete', () => {
  let now = 0;
  const evicted: string[] = [];
  const cache = createBoundedCache<string>({
    maxEntries: 2,
    maxBytes: 1 << 20,
    ttlMs: 100,
    now: () => now,
    onEvict: (value) => evicted.push(value),
  });
  cache.set('a', 'A');
  cache.set('b', 'B');
  cache.delete('b');
  cache.set('b', 'B2');
  cache.get('a');
  cache.set('c', 'C');
  assert.deepEqual(evicted, ['B2']);
  assert.deepEqual([...cache.values()], ['A', 'C']);
  now = 100;
  assert.equal(cache.get('a'), undefined);
  assert.deepEqual(evicted, ['B2', 'A']);
});
