/**
 * Resolves one OCIRepository pin target to a digest the way Flux would (HEAD on the manifest, GET fallback;
 * semver: highest matching tag), with the object's own registry access, inside a deadline below the webhook
 * timeout. Lookups go through the OCI room's Resolver (TTL cache, identical in-flight lookups coalesced);
 * repositories are pooled per (url, credentials, TLS, scheme) so connections are reused. Never throws: every
 * failure becomes a `Resolution` carrying a catalogued PinwardenError.
 */
import { createHash } from 'node:crypto';
import { PinwardenError, toPinwardenError } from '../core/errors.ts';
import { objectRefOf, readOciRepository, urlHasPrefix } from '../core/flux/index.ts';
import type { PinTarget, Resolution } from '../core/mutation/index.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import { HttpRepository, createNetworkGuard, createRegistryConnections, createResolver, credentialsIdentity, hostsOfPrefixes, parseRepositoryUrl } from '../oci/index.ts';
import type { Call, EventSink, HttpRepositoryOptions, NetworkGuard, RegistryConnections, Repository, Resolver } from '../oci/index.ts';
import type { AccessProvider, RegistryAccess } from './registry-access.ts';
import { createBoundedCache } from '../runtime/index.ts';

export interface PinResolverOptions {
  access: AccessProvider;
  /** Registry and cache events (metrics). */
  onEvent?: EventSink;
  now?: () => number;
  /** Pooled repositories kept (default 256); the least recently used one is closed beyond that. */
  maxRepositories?: number;
  /** Extra HttpRepository options (retry tuning, user agent). */
  repositoryOptions?: Omit<HttpRepositoryOptions, 'credentials' | 'tls' | 'insecure' | 'onEvent' | 'guard' | 'connections'>;
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

/**
 * Runs `work` with a deadline of `registry.timeoutSeconds`, shortened to what the caller has left. The timer
 * is cleared as soon as `work` settles: `AbortSignal.timeout` timers cannot be cancelled, and one per
 * admission left thousands firing (and being finalised) under load.
 */
export async function withRegistryCall<T>(policy: SourcePolicy, remainingMs: number | undefined, work: (call: Call) => Promise<T>): Promise<T> {
  const configured = policy.spec.registry.timeoutSeconds * 1000;
  // Rounded down to 50 ms: Node keeps one timer list per distinct duration, so equal durations share one.
  const exact = remainingMs === undefined ? configured : Math.min(configured, remainingMs);
  const budget = Math.max(1, exact >= 100 ? Math.floor(exact / 50) * 50 : Math.floor(exact));
  const deadline = lazyDeadline(budget);
  try {
    return await work(deadline.call);
  } finally {
    deadline.dispose();
  }
}

/**
 * A Call whose AbortController and timer exist only once something reads `signal`: a warm admission (cache
 * hit, no Secret read) never does, and then pays for neither. The deadline still counts from creation.
 */
function lazyDeadline(budgetMs: number): { call: Call; dispose(): void } {
  const deadline = Date.now() + budgetMs;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  const call: Call = {
    get signal(): AbortSignal {
      if (!controller) {
        const armed = new AbortController();
        const abort = (): void => armed.abort(new PinwardenError('PW_DEADLINE', `registry deadline of ${budgetMs}ms exceeded`));
        const left = deadline - Date.now();
        if (left <= 0) abort();
        else timer = setTimeout(abort, left >= 100 ? Math.floor(left / 50) * 50 : left);
        controller = armed;
      }
      return controller.signal;
    },
    deadline,
  };
  return { call, dispose: () => clearTimeout(timer) };
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
  const recentAccess = createTtlMemo<RegistryAccess>(ACCESS_TTL_MS, now);
  const accessRequest = (object: unknown, target: { url: string }, policy: SourcePolicy) => {
    const view = readOciRepository(object);
    refuseByPolicy(target.url, view.insecure, policy);
    const registry = parsed(target.url).registry;
    const namespace = objectRefOf(object).namespace ?? 'default';
    const key = [namespace, registry, view.secretName, view.serviceAccountName, view.certSecretName].join('\u0000');
    return { request: { namespace, view, registry }, key };
  };
  const repositoryFor = async (object: unknown, target: { url: string }, policy: SourcePolicy, call: Call): Promise<HttpRepository> => {
    const { request, key } = accessRequest(object, target, policy);
    const access = await options.access(request, call);
    recentAccess.set(key, access);
    return pool.get(target.url, access, request.view.insecure, guardFor(policy));
  };
  const knownRepositoryFor = (object: unknown, target: { url: string }, policy: SourcePolicy): HttpRepository | undefined => {
    const { request, key } = accessRequest(object, target, policy);
    const access = recentAccess.get(key);
    return access && pool.get(target.url, access, request.view.insecure, guardFor(policy));
  };

  return { resolve, peek, repository: (object, url, policy, call) => repositoryFor(object, { url }, policy, call), close: () => {
      pool.close();
      if (!options.connections) connections.close();
    },
  };
}

/**
 * Never contact a registry the policy rejects anyway: the webhook must not become a way to make the cluster
 * send requests (with credentials) to arbitrary hosts, nor speak plain HTTP where the policy forbids it.
 */
function refuseByPolicy(url: string, insecure: boolean, policy: SourcePolicy): void {
  const settings = policy.spec.ociRepository;
  if (settings.allowedRegistries.length > 0 && !isAllowedRegistry(policy, url)) {
    throw new PinwardenError('PW_INPUT_INVALID', `${url} is outside spec.ociRepository.allowedRegistries; not contacted`, { details: { path: 'spec.url' } });
  }
  if (insecure && !settings.allowInsecure) {
    throw new PinwardenError('PW_INPUT_INVALID', 'spec.insecure is not allowed by the policy; registry not contacted', { details: { path: 'spec.insecure' } });
  }
}

/** Per policy object (a reload makes a new one), the allowedRegistries verdict of each url seen. */
const allowedByPolicy = new WeakMap<SourcePolicy, (url: string) => boolean>();

function isAllowedRegistry(policy: SourcePolicy, url: string): boolean {
  let check = allowedByPolicy.get(policy);
  if (!check) {
    const prefixes = policy.spec.ociRepository.allowedRegistries;
    check = memo(1024, (candidate: string) => prefixes.some((prefix) => urlHasPrefix(candidate, prefix)));
    allowedByPolicy.set(policy, check);
  }
  return check(url);
}

/** How long a built registry access is reused without reading its Secrets again (the Secret cache's TTL). */
const ACCESS_TTL_MS = 10_000;

interface TtlMemo<T> {
  get(key: string): T | undefined;
  set(key: string, value: T): void;
}

function createTtlMemo<T>(ttlMs: number, now: () => number, max = 4096): TtlMemo<T> {
  const cache = createBoundedCache<T>({ maxEntries: max, maxBytes: 8 * 1024 * 1024, ttlMs, now, sizeOf: () => 1024 });
  return { get: (key) => cache.get(key), set: (key, value) => cache.set(key, value) };
}

/** A bounded memo for pure functions of a string (parse results, verdicts); errors are not remembered. */
function memo<T>(max: number, compute: (key: string) => T): (key: string) => T {
  const results = createBoundedCache<{ value: T }>({ maxEntries: max, maxBytes: max * 1024, ttlMs: Number.POSITIVE_INFINITY, sweepEveryMs: 60_000, sizeOf: () => 512 });
  return (key) => {
    const hit = results.get(key);
    if (hit) return hit.value;
    const value = compute(key);
    results.set(key, { value });
    return value;
  };
}

/** The addresses a policy lets the webhook reach: see `NetworkGuard` in the OCI room. */
export function networkGuardOf(policy: SourcePolicy): NetworkGuard {
  return createNetworkGuard({
    allowNetworks: policy.spec.registry.allowNetworks,
    denyNetworks: policy.spec.registry.denyNetworks,
    namedHosts: hostsOfPrefixes(policy.spec.ociRepository.allowedRegistries),
  });
}

interface RepositoryPool {
  get(url: string, access: RegistryAccess, insecure: boolean, guard: NetworkGuard | undefined): HttpRepository;
  close(): void;
}

function createRepositoryPool(options: PinResolverOptions, connections: RegistryConnections): RepositoryPool {
  // Special need: an evicted repository is closed a little later, so a request still using it can finish.
  const entries = createBoundedCache<HttpRepository>({
    maxEntries: options.maxRepositories ?? 256,
    maxBytes: Number.POSITIVE_INFINITY,
    ttlMs: Number.POSITIVE_INFINITY,
    sizeOf: () => 0,
    onEvict: (repository) => void setTimeout(() => repository.close(), 60_000).unref(),
  });
  return {
    get(url, access, objectInsecure, guard) {
      const insecure = objectInsecure || access.insecure === true;
      const key = `${url}|${credentialsIdentity(access.credentials)}|${tlsKey(access)}|${insecure}|${guard?.identity ?? 'unguarded'}`;
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
        // What gets pinned must be a manifest whose bytes hash to the digest, not what a HEAD header claims.
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
  return createHash('sha256').update(JSON.stringify([access.tls.ca, access.tls.cert, access.tls.key])).digest('hex').slice(0, 16);
}
