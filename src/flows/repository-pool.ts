/**
 * Repositories pooled per (url, credentials, TLS, scheme, network guard) so connections and caches are
 * reused; the least recently used one is closed a little after it leaves the pool.
 */
import { createHash } from 'node:crypto';
import { HttpRepository, credentialsIdentity } from '../oci/index.ts';
import type { NetworkGuard, RegistryConnections } from '../oci/index.ts';
import { createBoundedCache } from '../runtime/index.ts';
import type { RegistryAccess } from './registry-access.ts';
import type { PinResolverOptions } from './resolve.ts';

export interface RepositoryPool {
  get(url: string, access: RegistryAccess, insecure: boolean, guard: NetworkGuard | undefined): HttpRepository;
  close(): void;
}

export function createRepositoryPool(options: PinResolverOptions, connections: RegistryConnections): RepositoryPool {
  // Special need: an evicted repository is closed a little later, so a request still using it can finish.
  const entries = createBoundedCache<HttpRepository>({
    maxEntries: options.maxRepositories ?? 256,
    maxBytes: Number.POSITIVE_INFINITY,
    ttlMs: Number.POSITIVE_INFINITY,
    sizeOf: () => 0,
    onEvict: (repository) => void setTimeout(() => repository.close(), 60_000).unref(),
  });
  // The credentials and TLS half of the key hashes Secret material (a CA bundle can be many KiB): it is made once
  // per access object, which the resolver reuses for as long as the Secret cache keeps it.
  const accessKeys = new WeakMap<RegistryAccess, string>();
  const accessKeyOf = (access: RegistryAccess): string => {
    let key = accessKeys.get(access);
    if (key === undefined) {
      key = `${credentialsIdentity(access.credentials)}|${tlsKey(access)}`;
      accessKeys.set(access, key);
    }
    return key;
  };
  return {
    get(url, access, objectInsecure, guard) {
      const insecure = objectInsecure || access.insecure === true;
      const key = `${url}|${accessKeyOf(access)}|${insecure}|${guard?.identity ?? 'unguarded'}`;
      const found = entries.get(key);
      if (found) return found;
      const repository = HttpRepository.fromUrl(url, {
        ...options.repositoryOptions,
        ...(access.credentials ? { credentials: access.credentials } : {}),
        ...(access.tls ? { tls: access.tls } : {}),
        insecure,
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        ...(guard ? { guard } : {}),
        connections,
        // What gets pinned must be a manifest whose bytes hash to the digest, not what a HEAD header claims
        // (the controller's unchanged-digest check is a HEAD: `verifyOnResolve: false`).
        verifyOnResolve: options.verifyOnResolve ?? true,
      });
      entries.set(key, repository);
      return repository;
    },
    close() {
      for (const repository of entries.values()) repository.close();
      entries.clear();
    },
  };
}

function tlsKey(access: RegistryAccess): string {
  if (!access.tls) return 'default';
  return createHash('sha256')
    .update(JSON.stringify([access.tls.ca, access.tls.cert, access.tls.key]))
    .digest('hex')
    .slice(0, 16);
}
