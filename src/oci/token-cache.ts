/**
 * Bearer tokens and learned challenges, shared by the repositories of one owner (`RegistryConnections`: the
 * webhook builds a repository per request; the cache is what keeps that to one token fetch per scope and lifetime).
 * Keys include a credentials identity hash, so one caller's token is never reused for another's credentials.
 */
import { createBoundedCache } from '../runtime/index.ts';
import type { Challenge } from './www-authenticate.ts';

interface CachedToken {
  header: string;
  expiresAt: number;
}

const MAX_ENTRIES = 1024;

export interface TokenCache {
  get(key: string, now: number): string | undefined;
  set(key: string, header: string, expiresAt: number): void;
  delete(key: string): void;
  /** The last auth challenge a registry host answered with (skips the 401 round trip next time). */
  challengeFor(host: string): Challenge | undefined;
  rememberChallenge(host: string, challenge: Challenge): void;
  /** After a failed or timed-out token exchange: the next request starts again from the registry's 401. */
  forgetChallenge(host: string): void;
  /** Runs `fetch` once for concurrent callers of the same key (one token request, many waiters). */
  shareFetch(key: string, fetch: () => Promise<string>): Promise<string>;
}

export function createTokenCache(): TokenCache {
  // Tokens carry their own expiry (checked against the caller's clock); the cache's TTL is an upper bound.
  const tokens = createBoundedCache<CachedToken>({
    maxEntries: MAX_ENTRIES,
    maxBytes: 8 * 1024 * 1024,
    ttlMs: 3_600_000,
    sizeOf: (token) => 64 + token.header.length * 2,
  });
  const challenges = createBoundedCache<Challenge>({
    maxEntries: MAX_ENTRIES,
    maxBytes: 2 * 1024 * 1024,
    ttlMs: 3_600_000,
    sizeOf: (challenge) => 64 + JSON.stringify(challenge).length * 2,
  });
  const inflight = new Map<string, Promise<string>>();
  return {
    get(key, now) {
      const entry = tokens.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= now) {
        tokens.delete(key);
        return undefined;
      }
      return entry.header;
    },
    set(key, header, expiresAt) {
      tokens.set(key, { header, expiresAt });
    },
    delete(key) {
      tokens.delete(key);
    },
    challengeFor: (host) => challenges.get(host),
    rememberChallenge(host, challenge) {
      challenges.set(host, challenge);
    },
    forgetChallenge(host) {
      challenges.delete(host);
    },
    shareFetch(key, fetch) {
      const running = inflight.get(key);
      if (running) return running;
      const started = fetch().finally(() => inflight.delete(key));
      inflight.set(key, started);
      return started;
    },
  };
}

/** Lifetime minus a safety margin (10 %, at most 30 s), so a token is not used as it expires. */
export function tokenExpiry(now: number, expiresInSeconds: number): number {
  const lifetimeMs = expiresInSeconds * 1000;
  return now + lifetimeMs - Math.min(30_000, lifetimeMs / 10);
}
