/**
 * The owner of what registry clients share in one process: connection pools (one per TLS setup), the bearer
 * token cache, and the memo of insecure hosts that turned out to speak plain HTTP. An entrypoint (`serve`,
 * the controller, a CLI command) creates one, hands it to every repository it opens, and closes it on
 * shutdown; nothing here is a module-level singleton. A repository opened without one owns a private
 * transport and token cache and closes them with itself (the one-shot CLI case).
 */
import { createBoundedCache } from '../runtime/index.ts';
import { createTokenCache } from './token-cache.ts';
import type { TokenCache } from './token-cache.ts';
import { createTransport } from './transport.ts';
import type { Transport, TransportOptions } from './transport.ts';
import { tlsIdentity } from './tls.ts';

export interface PlainHttpMemo {
  /** True while `host` is remembered as plain HTTP (an insecure https attempt found http there). */
  isPlainHttp(host: string): boolean;
  remember(host: string): void;
}

export interface RegistryConnections {
  /** The pooled transport for one TLS / verification / guard setup; its `close()` is a no-op (the owner closes). */
  transport(options: TransportOptions): Transport;
  readonly tokenCache: TokenCache;
  readonly plainHttp: PlainHttpMemo;
  /** Destroys every pooled socket. Later `transport()` calls open new pools (a closed owner is not an error). */
  close(): void;
}

export interface RegistryConnectionsOptions {
  /** Distinct TLS setups pooled at once (default 32). */
  maxPools?: number;
  /** ms clock for the plain-HTTP memo (default Date.now). */
  now?: () => number;
  /** How long a host stays remembered as plain HTTP (default 10 minutes), after which https is tried again. */
  plainHttpMemoMs?: number;
}

const PLAIN_HTTP_MEMO_MS = 10 * 60_000;

export function createRegistryConnections(options: RegistryConnectionsOptions = {}): RegistryConnections {
  const maxPools = options.maxPools ?? 32;
  // Not the bounded cache: an evicted pool must not be destroyed while requests are still in flight on it.
  // Dropped pools stop taking new requests; their idle keep-alive sockets time out (30 s) on their own.
  const pools = new Map<string, Transport>();
  const plainHosts = createBoundedCache<true>({
    maxEntries: 1024,
    maxBytes: 1024 * 1024,
    ttlMs: options.plainHttpMemoMs ?? PLAIN_HTTP_MEMO_MS,
    sizeOf: () => 64,
    ...(options.now ? { now: options.now } : {}),
  });
  const tokenCache = createTokenCache();
  return {
    transport(transportOptions) {
      const key = `${tlsIdentity(transportOptions.tls)}|${transportOptions.skipVerify === true ? 'skip' : 'verify'}|${transportOptions.guard?.identity ?? 'unguarded'}`;
      let pooled = pools.get(key);
      if (!pooled) {
        if (pools.size >= maxPools) {
          const oldest = pools.keys().next().value;
          if (oldest !== undefined) pools.delete(oldest);
        }
        pooled = createTransport(transportOptions);
        pools.set(key, pooled);
      }
      const transport = pooled;
      return { send: (request) => transport.send(request), close: () => undefined };
    },
    tokenCache,
    plainHttp: {
      isPlainHttp: (host) => plainHosts.get(host) === true,
      remember: (host) => plainHosts.set(host, true),
    },
    close() {
      for (const transport of pools.values()) transport.close();
      pools.clear();
      plainHosts.clear();
    },
  };
}

/** A memo for one client alone (no owner given): remembers for the client's lifetime. */
export function privatePlainHttpMemo(): PlainHttpMemo {
  const hosts = new Set<string>();
  return { isPlainHttp: (host) => hosts.has(host), remember: (host) => void hosts.add(host) };
}
