/**
 * The readers' cache: answers (found or not found) are remembered for `ttlMs` in the runtime room's bounded
 * cache, identical in-flight reads are shared (the cached value is the promise), and errors are never
 * remembered. A burst of admissions for objects with the same `secretRef` or Namespace costs one API read.
 */
import { createBoundedCache } from '../runtime/index.ts';
import type { NamespaceReader } from './namespace-reader.ts';
import type { SecretReader } from './secret-reader.ts';

type Load = <T>(key: string, load: () => Promise<T>) => Promise<T>;

function cachedReads(ttlMs: number, now: () => number): Load {
  // The value is a promise, so its size is not known when stored: each counts as 16 KiB (pull credentials,
  // keys and certificates are a few KiB; labels less), so 4096 entries stay within the 64 MiB budget.
  const entries = createBoundedCache<Promise<unknown>>({
    maxEntries: 4096,
    maxBytes: 64 * 1024 * 1024,
    ttlMs,
    now,
    sizeOf: () => 16 * 1024,
  });
  return <T>(key: string, load: () => Promise<T>): Promise<T> => {
    const hit = entries.get(key);
    if (hit) return hit as Promise<T>;
    const value = load();
    entries.set(key, value);
    value.catch(() => entries.delete(key));
    return value;
  };
}

export function cachingSecretReader(reader: SecretReader, ttlMs = 10_000, now: () => number = Date.now): SecretReader {
  const cached = cachedReads(ttlMs, now);
  return {
    getSecret: (namespace, name, signal) =>
      cached(`s\u0000${namespace}\u0000${name}`, () => reader.getSecret(namespace, name, signal)),
    getServiceAccount: (namespace, name, signal) =>
      cached(`a\u0000${namespace}\u0000${name}`, () => reader.getServiceAccount(namespace, name, signal)),
  };
}

export function cachingNamespaceReader(
  reader: NamespaceReader,
  ttlMs = 10_000,
  now: () => number = Date.now,
): NamespaceReader {
  const cached = cachedReads(ttlMs, now);
  return { getNamespaceLabels: (name, signal) => cached(name, () => reader.getNamespaceLabels(name, signal)) };
}
