/**
 * The one cache shape of the process: bounded in entries AND in bytes, keyed by the sha256 of any long input
 * (a 3 MB `spec.url` costs a 44-character key, not 6 MB; keys of up to 96 characters are kept as they are,
 * so the hot path hashes nothing), entries expire after a TTL, and expired ones are swept
 * (not only skipped) on a timer-free schedule driven by writes. The clock is injected so tests step time.
 * Least recently used entries are dropped first when either bound is reached. A value larger than the whole
 * byte budget is not stored at all.
 */
import { createHash } from 'node:crypto';

export interface BoundedCacheOptions<V> {
  maxEntries: number;
  maxBytes: number;
  /** Default lifetime of an entry (ms); `set` may give another. Infinity: entries only leave by eviction. */
  ttlMs: number;
  /** ms clock (default Date.now). */
  now?: () => number;
  /** Approximate retained size of a value in bytes (default: 64 + string length × 2, or byteLength). */
  sizeOf?: (value: V) => number;
  /** Sweep expired entries at most this often (ms, default min(ttlMs, 10 s)). */
  sweepEveryMs?: number;
  /** Called with a value that leaves by eviction or expiry (not by `delete`, `set` over it, or `clear`): e.g. to close it. */
  onEvict?: (value: V) => void;
}

export interface BoundedCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V, ttlMs?: number): void;
  delete(key: string): void;
  clear(): void;
  /** Drops every expired entry now; returns how many went. */
  sweep(): number;
  /** The live values, least recently used first (no expiry check, no reordering). */
  values(): IterableIterator<V>;
  readonly size: number;
  readonly bytes: number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
  bytes: number;
}

/** Keys up to this length are stored as they are (no hashing on the hot path); longer ones as their sha256. */
const SHORT_KEY = 96;

/** The key as stored: short keys verbatim, long ones as `#` + sha256 (base64url); never over 97 characters. */
export function cacheKeyOf(key: string): string {
  if (key.length <= SHORT_KEY && !key.startsWith('#')) return key;
  return `#${createHash('sha256').update(key).digest('base64url')}`;
}

/** Key (at most 97 chars, UTF-16) and Map slot overhead, charged to every entry. */
const ENTRY_OVERHEAD_BYTES = (SHORT_KEY + 1) * 2 + 80;

export function defaultSizeOf(value: unknown): number {
  if (typeof value === 'string') return 64 + value.length * 2;
  if (value instanceof Uint8Array) return 64 + value.byteLength;
  return 256;
}

export function createBoundedCache<V>(options: BoundedCacheOptions<V>): BoundedCache<V> {
  const now = options.now ?? Date.now;
  const sizeOf = options.sizeOf ?? defaultSizeOf;
  const sweepEveryMs = options.sweepEveryMs ?? Math.min(options.ttlMs, 10_000);
  const entries = new Map<string, Entry<V>>();
  // The key used or stored last, i.e. the Map's last entry: a hot key read again and again (the same registry,
  // policy prefix or digest for every review) is already in LRU place, so its get skips the delete + set.
  let newest: string | undefined;
  let bytes = 0;
  let lastSweep = now();

  const remove = (hashed: string, evicted = false): void => {
    const entry = entries.get(hashed);
    if (!entry) return;
    entries.delete(hashed);
    bytes -= entry.bytes;
    if (evicted) options.onEvict?.(entry.value);
  };
  const sweep = (): number => {
    const at = now();
    lastSweep = at;
    let removed = 0;
    for (const [hashed, entry] of entries) {
      if (entry.expiresAt <= at) {
        remove(hashed, true);
        removed++;
      }
    }
    return removed;
  };

  return {
    get(key) {
      const hashed = cacheKeyOf(key);
      const entry = entries.get(hashed);
      if (!entry) return undefined;
      // An entry that never expires (memos: ttlMs Infinity) needs no clock read.
      if (entry.expiresAt !== Number.POSITIVE_INFINITY && entry.expiresAt <= now()) {
        remove(hashed, true);
        return undefined;
      }
      // Most recently used goes last: eviction takes from the front.
      if (hashed !== newest) {
        entries.delete(hashed);
        entries.set(hashed, entry);
        newest = hashed;
      }
      return entry.value;
    },
    set(key, value, ttlMs = options.ttlMs) {
      const at = now();
      if (at - lastSweep >= sweepEveryMs) sweep();
      const hashed = cacheKeyOf(key);
      remove(hashed);
      const size = ENTRY_OVERHEAD_BYTES + Math.max(0, sizeOf(value));
      if (size > options.maxBytes || ttlMs <= 0 || options.maxEntries <= 0) return;
      while (entries.size > 0 && (entries.size >= options.maxEntries || bytes + size > options.maxBytes)) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        remove(oldest, true);
      }
      entries.set(hashed, { value, expiresAt: at + ttlMs, bytes: size });
      newest = hashed;
      bytes += size;
    },
    delete(key) {
      if (entries.size > 0) remove(cacheKeyOf(key));
    },
    clear() {
      entries.clear();
      newest = undefined;
      bytes = 0;
    },
    sweep,
    values: () => [...entries.values()].map((entry) => entry.value)[Symbol.iterator](),
    get size() {
      return entries.size;
    },
    get bytes() {
      return bytes;
    },
  };
}
