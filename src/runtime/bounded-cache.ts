/**
 * The one cache shape of the process: bounded in entries AND in bytes, keyed by the sha256 of any long input
 * (a 3 MB `spec.url` costs a 44-character key, not 6 MB; keys of up to 96 characters are kept as they are,
 * so the hot path hashes nothing), entries expire after a TTL, and expired ones are swept
 * (not only skipped) on a timer-free schedule driven by writes. The clock is injected so tests step time.
 * When either bound is reached, entries leave in least-recently-used order, approximated the CLOCK way: a read
 * only marks its entry, and an entry at the front that was read since it came there gets one more round at the
 * back instead of leaving (reordering the Map on every hit would cost each cache hit a delete and an insert; the
 * webhook's warm path hits five caches per review). A value larger than the whole byte budget is not stored at all.
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
  /** The live values, oldest first (no expiry check, no reordering). */
  values(): IterableIterator<V>;
  readonly size: number;
  readonly bytes: number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
  bytes: number;
  /** Read since it was stored or last passed over for eviction. */
  used: boolean;
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
  let bytes = 0;
  let lastSweep = now();

  const remove = (hashed: string, evicted = false): void => {
    const entry = entries.get(hashed);
    if (!entry) return;
    entries.delete(hashed);
    bytes -= entry.bytes;
    if (evicted) options.onEvict?.(entry.value);
  };
  /** The front entry leaves, unless it was read since it got there: then it goes to the back, unmarked. */
  const evictOne = (): void => {
    for (const [hashed, entry] of entries) {
      if (!entry.used) {
        remove(hashed, true);
        return;
      }
      entry.used = false;
      entries.delete(hashed);
      entries.set(hashed, entry);
    }
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
      entry.used = true;
      return entry.value;
    },
    set(key, value, ttlMs = options.ttlMs) {
      const at = now();
      if (at - lastSweep >= sweepEveryMs) sweep();
      const hashed = cacheKeyOf(key);
      remove(hashed);
      const size = ENTRY_OVERHEAD_BYTES + Math.max(0, sizeOf(value));
      if (size > options.maxBytes || ttlMs <= 0 || options.maxEntries <= 0) return;
      while (entries.size > 0 && (entries.size >= options.maxEntries || bytes + size > options.maxBytes)) evictOne();
      entries.set(hashed, { value, expiresAt: at + ttlMs, bytes: size, used: false });
      bytes += size;
    },
    delete(key) {
      if (entries.size > 0) remove(cacheKeyOf(key));
    },
    clear() {
      entries.clear();
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
