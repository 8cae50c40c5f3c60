/**
 * Tag → digest resolution for the webhook: a TTL cache and coalescing of identical in-flight lookups
 * (same registry, repository, tag and credentials identity share one registry request). Only successes are
 * cached; errors are transient by nature (or a tag not pushed yet) and always re-asked. A caller that gives
 * up (its signal aborts) leaves the shared request running for the others; the last one to leave aborts it.
 */
import { PinwardenError } from '../core/errors.ts';
import { createBoundedCache } from '../runtime/index.ts';
import { emit } from './events.ts';
import type { EventSink } from './events.ts';
import { deadlineError } from './retry.ts';
import { compileTagFilter, highestMatchingTagWithin, parseSemverConstraint } from './semver-tags.ts';
import type { Call, Descriptor, Repository } from './types.ts';

export interface ResolverOptions {
  /** How long a resolved tag is trusted (default 60 s, SPEC `registry.cacheTTLSeconds`). */
  ttlMs?: number;
  maxEntries?: number;
  /** Bound on the cache's retained bytes (default 16 MiB). */
  maxBytes?: number;
  now?: () => number;
  onEvent?: EventSink;
}

export interface SemverResolution {
  tag: string;
  descriptor: Descriptor;
}

export interface Resolver {
  resolveTag(repository: Repository, tag: string, call: Call): Promise<Descriptor>;
  /** The cached answer of `resolveTag`, without I/O; undefined when only the registry can tell. */
  peekTag(repository: Repository, tag: string): Descriptor | undefined;
  /** The cached answer of `resolveSemver`, without I/O. */
  peekSemver(repository: Repository, range: string, filter: string | undefined): SemverResolution | undefined;
  /** Highest tag inside `range` (after the optional Go-regexp `filter`), resolved. PW_NO_MATCHING_TAG if none. */
  resolveSemver(
    repository: Repository,
    range: string,
    filter: string | undefined,
    call: Call,
  ): Promise<SemverResolution>;
  clear(): void;
}

/** Repositories that can tell callers with different credentials or trust apart (HttpRepository does). */
interface CacheIdentified {
  readonly cacheIdentity?: unknown;
}

interface Flight {
  promise: Promise<unknown>;
  controller: AbortController;
  waiters: number;
  settled: boolean;
}

export function createResolver(options: ResolverOptions = {}): Resolver {
  const ttlMs = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = createBoundedCache<unknown>({
    maxEntries: options.maxEntries ?? 10_000,
    maxBytes: options.maxBytes ?? 16 * 1024 * 1024,
    ttlMs,
    now,
    sizeOf: () => 512,
  });
  const flights = new Map<string, Flight>();

  const cachedOrShared = async <T>(
    key: string,
    call: Call,
    what: string,
    run: (shared: Call) => Promise<T>,
  ): Promise<T> => {
    const hit = cache.get(key) as T | undefined;
    emit(options.onEvent, { type: 'cache', outcome: hit === undefined ? 'miss' : 'hit' });
    if (hit !== undefined) return hit;
    let flight = flights.get(key);
    if (flight) {
      emit(options.onEvent, { type: 'coalesced' });
    } else {
      flight = startFlight(key, call, run);
    }
    flight.waiters++;
    try {
      return (await untilAborted(flight.promise, call.signal, what)) as T;
    } finally {
      flight.waiters--;
      if (flight.waiters === 0 && !flight.settled) flight.controller.abort(call.signal.reason);
    }
  };

  const startFlight = <T>(key: string, call: Call, run: (shared: Call) => Promise<T>): Flight => {
    const controller = new AbortController();
    const shared: Call = {
      signal: controller.signal,
      ...(call.deadline !== undefined ? { deadline: call.deadline } : {}),
    };
    const flight: Flight = { promise: Promise.resolve(), controller, waiters: 0, settled: false };
    flight.promise = run(shared)
      .then((value) => {
        cache.set(key, value);
        return value;
      })
      .finally(() => {
        flight.settled = true;
        if (flights.get(key) === flight) flights.delete(key);
      });
    // The flight is awaited through untilAborted; this keeps an early failure from being unhandled.
    flight.promise.catch(() => undefined);
    flights.set(key, flight);
    return flight;
  };

  /** A hit counts as one (it answers an admission); a miss does not, the resolve that follows counts it. */
  const peek = <T>(key: string): T | undefined => {
    const hit = cache.get(key) as T | undefined;
    if (hit !== undefined) emit(options.onEvent, { type: 'cache', outcome: 'hit' });
    return hit;
  };
  const tagKey = (repository: Repository, tag: string): string => `tag\u0000${identityOf(repository)}\u0000${tag}`;
  const semverKey = (repository: Repository, range: string, filter: string | undefined): string =>
    `semver\u0000${identityOf(repository)}\u0000${range}\u0000${filter ?? ''}`;

  const resolveTag = (repository: Repository, tag: string, call: Call): Promise<Descriptor> =>
    cachedOrShared(tagKey(repository, tag), call, `resolve ${repository.name}:${tag}`, (shared) =>
      repository.resolve(tag, shared),
    );

  const resolveSemver = (
    repository: Repository,
    range: string,
    filter: string | undefined,
    call: Call,
  ): Promise<SemverResolution> => {
    const constraint = parseSemverConstraint(range);
    const matches = filter === undefined || filter === '' ? undefined : compileTagFilter(filter);
    const key = semverKey(repository, range, filter);
    return cachedOrShared(key, call, `resolve ${repository.name} semver ${range}`, async (shared) => {
      const tags: string[] = [];
      for await (const tag of repository.tags(shared)) tags.push(tag);
      const tag = await highestMatchingTagWithin(tags, constraint, matches, { signal: shared.signal });
      if (tag === undefined) {
        throw new PinwardenError(
          'PW_NO_MATCHING_TAG',
          `no tag of ${repository.name} matches semver '${range}'${matches ? ` with filter '${filter}'` : ''}`,
        );
      }
      return { tag, descriptor: await resolveTag(repository, tag, shared) };
    });
  };

  return {
    resolveTag,
    resolveSemver,
    peekTag: (repository, tag) => peek<Descriptor>(tagKey(repository, tag)),
    peekSemver: (repository, range, filter) => peek<SemverResolution>(semverKey(repository, range, filter)),
    clear: () => cache.clear(),
  };
}

function identityOf(repository: Repository): string {
  const identity = (repository as CacheIdentified).cacheIdentity;
  return typeof identity === 'string' ? identity : repository.name;
}

/** The shared promise, or PW_DEADLINE as soon as this caller's own signal fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) return Promise.reject(deadlineError(what, signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(deadlineError(what, signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
