/**
 * Resolves one OCIRepository pin target to a digest the way Flux would (HEAD on the manifest, GET fallback;
 * semver: highest matching tag), with the object's own registry access, inside a deadline below the webhook
 * timeout. Lookups go through the OCI room's Resolver (TTL cache, identical in-flight lookups coalesced);
 * repositories come from the pool (`repository-pool.ts`), after the policy's checks (`registry-policy.ts`);
 * the deadline is `registry-call.ts`. Never throws: every failure becomes a `Resolution` carrying a
 * catalogued PinwardenError.
 */
import { toPinwardenError } from '../core/errors.ts';
import { objectRefOf, readOciRepository } from '../core/flux/index.ts';
import type { PinTarget, Resolution } from '../core/mutation/index.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import { createRegistryConnections, createResolver, parseRepositoryUrl } from '../oci/index.ts';
import type {
  Call,
  EventSink,
  HttpRepository,
  HttpRepositoryOptions,
  NetworkGuard,
  RegistryConnections,
  Repository,
  Resolver,
} from '../oci/index.ts';
import { createBoundedCache } from '../runtime/index.ts';
import type { AccessProvider, RegistryAccess } from './registry-access.ts';
import { memo, networkGuardOf, refuseByPolicy } from './registry-policy.ts';
import { createRepositoryPool } from './repository-pool.ts';

export interface PinResolverOptions {
  access: AccessProvider;
  /** Registry and cache events (metrics). */
  onEvent?: EventSink;
  now?: () => number;
  /** Pooled repositories kept (default 256); the least recently used one is closed beyond that. */
  maxRepositories?: number;
  /** Extra HttpRepository options (retry tuning, user agent). */
  repositoryOptions?: Omit<
    HttpRepositoryOptions,
    'credentials' | 'tls' | 'insecure' | 'onEvent' | 'guard' | 'connections'
  >;
  /**
   * Pooled connections and tokens, owned by the entrypoint (serve shares one with the controller and closes it on
   * shutdown). Without it the resolver makes its own and closes it in `close()`.
   */
  connections?: RegistryConnections;
  /**
   * The SSRF guard (default true): addresses are checked against the policy's `registry.allowNetworks` /
   * `denyNetworks` and `allowedRegistries` hosts. The webhook (and the controller) act on tenants' objects and
   * keep it; `check --resolve` acts for the person running it and turns it off (`localhost:5000` is fine there).
   */
  guardNetworks?: boolean;
  /**
   * Resolve by GET and hash (default true): what gets pinned must be a manifest whose bytes hash to the digest.
   * The controller turns it off: its "is the digest unchanged" question is one HEAD, and what it then pulls
   * is fetched by digest and checked anyway.
   */
  verifyOnResolve?: boolean;
}

export interface PinResolver {
  /** `call` bounds everything: Secret reads, token exchange, HEAD/GET, tag listing. */
  resolve(object: unknown, target: PinTarget, policy: SourcePolicy, call: Call): Promise<Resolution>;
  /** What `resolve` would answer from its caches alone, without I/O; undefined on any miss. Never throws. */
  peek?(object: unknown, target: PinTarget, policy: SourcePolicy): Resolution | undefined;
  /** The pooled repository of `url` with the object's registry access (signature checks use it); throws PinwardenError. */
  repository(object: unknown, url: string, policy: SourcePolicy, call: Call): Promise<Repository>;
  close(): void;
}

export function createPinResolver(options: PinResolverOptions): PinResolver {
  const now = options.now ?? Date.now;
  const connections = options.connections ?? createRegistryConnections();
  const pool = createRepositoryPool(options, connections);
  const guards = new WeakMap<SourcePolicy, NetworkGuard>();
  const guardFor = (policy: SourcePolicy): NetworkGuard | undefined => {
    if (options.guardNetworks === false) return undefined;
    let guard = guards.get(policy);
    if (!guard) {
      guard = networkGuardOf(policy);
      guards.set(policy, guard);
    }
    return guard;
  };
  let resolver: Resolver | undefined;
  let ttlMs = -1;
  // The TTL is a policy knob and the policy reloads: a new TTL starts a new cache.
  const resolverFor = (policy: SourcePolicy): Resolver => {
    const wanted = policy.spec.registry.cacheTTLSeconds * 1000;
    if (resolver === undefined || wanted !== ttlMs) {
      ttlMs = wanted;
      resolver = createResolver({ ttlMs: wanted, now, ...(options.onEvent ? { onEvent: options.onEvent } : {}) });
    }
    return resolver;
  };

  const peek = (object: unknown, target: PinTarget, policy: SourcePolicy): Resolution | undefined => {
    try {
      const repository = knownRepositoryFor(object, target, policy);
      if (!repository) return undefined;
      const lookups = resolverFor(policy);
      if (target.source.kind === 'semver') {
        const found = lookups.peekSemver(repository, target.source.range, target.source.filter);
        return found && { ok: true, digest: found.descriptor.digest, tag: found.tag };
      }
      const descriptor = lookups.peekTag(repository, target.source.tag);
      return descriptor && { ok: true, digest: descriptor.digest, tag: target.source.tag };
    } catch {
      return undefined;
    }
  };

  const resolve = async (object: unknown, target: PinTarget, policy: SourcePolicy, call: Call): Promise<Resolution> => {
    try {
      const repository = await repositoryFor(object, target, policy, call);
      const lookups = resolverFor(policy);
      if (target.source.kind === 'semver') {
        const found = await lookups.resolveSemver(repository, target.source.range, target.source.filter, call);
        return { ok: true, digest: found.descriptor.digest, tag: found.tag };
      }
      const descriptor = await lookups.resolveTag(repository, target.source.tag, call);
      return { ok: true, digest: descriptor.digest, tag: target.source.tag };
    } catch (error) {
      return { ok: false, error: toPinwardenError(error) };
    }
  };

  const parsed = memo(1024, parseRepositoryUrl);
  // The access an object's references resolved to, for as long as the Secret cache keeps them (10 s): lets a
  // warm admission find its pooled repository, and so its cached digest, without awaiting anything.
  const recentAccess = createBoundedCache<RegistryAccess>({
    maxEntries: 4096,
    maxBytes: 8 * 1024 * 1024,
    ttlMs: ACCESS_TTL_MS,
    now,
    sizeOf: () => 1024,
  });
  const accessRequest = (object: unknown, target: { url: string }, policy: SourcePolicy) => {
    const view = readOciRepository(object);
    refuseByPolicy(target.url, view.insecure, policy);
    const registry = parsed(target.url).registry;
    const namespace = objectRefOf(object).namespace ?? 'default';
    const key = `${namespace}\u0000${registry}\u0000${view.secretName ?? ''}\u0000${view.serviceAccountName ?? ''}\u0000${view.certSecretName ?? ''}`;
    return { request: { namespace, view, registry }, key };
  };
  const repositoryFor = async (
    object: unknown,
    target: { url: string },
    policy: SourcePolicy,
    call: Call,
  ): Promise<HttpRepository> => {
    const { request, key } = accessRequest(object, target, policy);
    const access = await options.access(request, call);
    recentAccess.set(key, access);
    return pool.get(target.url, access, request.view.insecure, guardFor(policy));
  };
  const knownRepositoryFor = (
    object: unknown,
    target: { url: string },
    policy: SourcePolicy,
  ): HttpRepository | undefined => {
    const { request, key } = accessRequest(object, target, policy);
    const access = recentAccess.get(key);
    return access && pool.get(target.url, access, request.view.insecure, guardFor(policy));
  };

  return {
    resolve,
    peek,
    repository: (object, url, policy, call) => repositoryFor(object, { url }, policy, call),
    close: () => {
      pool.close();
      if (!options.connections) connections.close();
    },
  };
}

/** How long a built registry access is reused without reading its Secrets again (the Secret cache's TTL). */
const ACCESS_TTL_MS = 10_000;
