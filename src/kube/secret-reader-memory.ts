/** The `SecretReader` test double: in memory, counting reads so tests can assert caching. */
import type { KubeSecret, KubeServiceAccount, SecretReader } from './secret-reader.ts';

export interface MemorySecrets {
  /** Keyed `namespace/name`; string values are taken as UTF-8 text (not base64). */
  secrets?: Record<string, { type?: string; data: Record<string, string | Uint8Array> }>;
  serviceAccounts?: Record<string, { imagePullSecrets?: string[] }>;
}

/** In-memory reader for tests and for callers without a cluster. */
export function createMemorySecretReader(content: MemorySecrets = {}): SecretReader & { reads: number } {
  const reader = {
    reads: 0,
    async getSecret(namespace: string, name: string): Promise<KubeSecret | undefined> {
      reader.reads++;
      const found = content.secrets?.[`${namespace}/${name}`];
      if (!found) return undefined;
      const data: Record<string, Uint8Array> = {};
      for (const [key, value] of Object.entries(found.data))
        data[key] = typeof value === 'string' ? new TextEncoder().encode(value) : value;
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
