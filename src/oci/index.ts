/**
 * The OCI room's public surface: our own distribution-spec client, shaped like the ORAS libraries. A
 * `Repository` resolves tags, fetches digest-checked manifests, streams digest-checked blobs (`fetch`;
 * `fetchAll` for small ones), lists tags and referrers and pushes; `createRegistryConnections` is the owner
 * of pooled connections and the token cache that an entrypoint creates and closes;
 * `HttpRepository` speaks HTTP to a real registry (auth, TLS, retries inside the deadline), `MemoryRepository`
 * is the unit-test fake, and `createResolver` adds the webhook's TTL cache, coalescing and semver selection.
 * Other rooms import only from here.
 */
export type { Call, Descriptor, Digest, FetchOptions, FetchedManifest, Repository } from './types.ts';
export { DEFAULT_FETCH_ALL_BYTES, fetchAll } from './fetch-all.ts';
export { createRegistryConnections } from './connections.ts';
export type { PlainHttpMemo, RegistryConnections, RegistryConnectionsOptions } from './connections.ts';
export { MEDIA_TYPES } from './types.ts';
export { assertMatchesDescriptor, isDigest, sha256Digest } from './digest.ts';
export { MemoryRepository } from './memory.ts';
export { HttpRepository } from './http-repository.ts';
export type { HttpRepositoryOptions } from './http-repository.ts';
export {
  DOCKER_HUB_API_HOST,
  DOCKER_HUB_REGISTRY,
  OCI_PREFIX,
  formatReference,
  isValidTag,
  parseReference,
  parseRepositoryUrl,
  repositoryName,
} from './reference.ts';
export type { Reference, RepositoryRef } from './reference.ts';
export { credentialsFromDockerConfig, credentialsIdentity, hasCredentials } from './credentials.ts';
export type { Credentials } from './credentials.ts';
export { tlsFromSecretData } from './tls.ts';
export type { SecretData, TlsOptions } from './tls.ts';
export { DEFAULT_RETRY_POLICY, callWithTimeout, systemClock } from './retry.ts';
export type { Clock, RetryPolicy } from './retry.ts';
export { createResolver } from './resolver.ts';
export type { Resolver, ResolverOptions, SemverResolution } from './resolver.ts';
export { compileTagFilter, highestMatchingTag, parseSemverConstraint, parseTagVersion } from './semver-tags.ts';
export { createRegistryStats } from './events.ts';
export type { Endpoint, EventSink, RegistryEvent, RegistryStats } from './events.ts';
export { parseWwwAuthenticate } from './www-authenticate.ts';
export type { Challenge } from './www-authenticate.ts';
export { createTokenCache } from './token-cache.ts';
export type { TokenCache } from './token-cache.ts';
export { createNetworkGuard, hostsOfPrefixes } from './network-guard.ts';
export type { NetworkGuard, NetworkGuardOptions } from './network-guard.ts';
