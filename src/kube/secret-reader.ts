/**
 * The two reads registry access needs from the cluster (a Secret, a ServiceAccount's image pull secrets),
 * as a tiny interface so flows and tests never depend on client-node. Secret values are bytes already
 * base64-decoded; nothing here ever logs or formats them.
 */
import { createBoundedCache } from '../runtime/index.ts';

export interface KubeSecret {
  /** `kubernetes.io/dockerconfigjson`, `kubernetes.io/tls`, `Opaque`… ('' when the API gave none). */
  type: string;
  data: Readonly<Record<string, Uint8Array>>;
}

export interface KubeServiceAccount {
  /** Names of the Secrets listed in `imagePullSecrets`. */
  imagePullSecrets: string[];
}

export interface SecretReader {
  /** undefined when the Secret does not exist; throws PinwardenError when the API could not answer. */
  getSecret(namespace: string, name: string, signal?: AbortSignal): Promise<KubeSecret | undefined>;
  getServiceAccount(namespace: string, name: string, signal?: AbortSignal): Promise<KubeServiceAccount | undefined>;
}

export interface MemorySecrets {
  /** Keyed `namespace/name`; string values are taken as UTF-8 text (not base64). */
  secrets?: Record<string, { type?: string; data: Record<string, string | Uint8Array> }>;
  serviceAccounts?: Record<string, { imagePullSecrets?: string[] }>;
}

/** In-memory reader for tests and for callers without a cluster. Counts reads so tests can assert caching. */
export function createMemorySecretReader(content: MemorySecrets = {}): SecretReader & { reads: number } {
  const reader = {
    reads: 0,
    async getSecret(namespace: string, name: string): Promise<KubeSecret | undefined> {
      reader.reads++;
      const found = content.secrets?.[`${namespace}/${name}`];
      if (!found) return undefined;
      const data: Record<string, Uint8Array> = {};
      for (const [key, value] of Object.entries(found.data)) data[key] = typeof value === 'string' ? new TextEncoder().encode(value) : value;
      return { type: found.type ?? 'Opaque', data };
    },
    async getServiceAccount(namespace: string, name: string): Promise<KubeServiceAccount | undefined> {
      reader.reads++;
      const found = content.serviceAccounts?.[`${namespace}/${name}`];
      return found ? { imagePullSecrets: [...(found.imagePullSecrets ?? [])] } : undefined;
    },
  };
  return reader;
}

/**
 * Remembers answers (found or not found) for `ttlMs` and shares identical in-flight reads, so a burst of
 * admissions for objects with the same `secretRef` costs one API read. Errors are never remembered.
 */
export function cachingSecretReader(reader: SecretReader, ttlMs = 10_000, now: () => number = Date.now): SecretReader {
  // The value is a promise, so its size is not known when stored: each counts as 16 KiB (pull credentials,
  // keys and certificates are a few KiB), so 4096 entries stay within the 64 MiB budget.
  const entries = createBoundedCache<Promise<unknown>>({ maxEntries: 4096, maxBytes: 64 * 1024 * 1024, ttlMs, now, sizeOf: () => 16 * 1024 });
  const cached = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    const hit = entries.get(key);
    if (hit) return hit as Promise<T>;
    const value = load();
    entries.set(key, value);
    value.catch(() => entries.delete(key));
    return value;
  };
  return {
    getSecret: (namespace, name, signal) => cached(`s\u0000${namespace}\u0000${name}`, () => reader.getSecret(namespace, name, signal)),
    getServiceAccount: (namespace, name, signal) => cached(`a\u0000${namespace}\u0000${name}`, () => reader.getServiceAccount(namespace, name, signal)),
  };
}
