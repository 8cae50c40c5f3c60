/**
 * The smallest HTTP layer that gives us what `fetch` would not without an extra dependency: per-registry TLS
 * (extra CA, client certificate), keep-alive agents, streaming bodies we can cap, and the abort signal on
 * every request. Failures become PinwardenErrors here, already redacted (no query strings).
 */
import type { Agent as HttpAgentType, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { PinwardenError } from '../core/errors.ts';
import { guardedLookup, literalAddress } from './network-guard.ts';
import type { NetworkGuard } from './network-guard.ts';
import { redactUrl } from './registry-error.ts';
import { deadlineError } from './retry.ts';
import { secureContextOptions } from './tls.ts';
import type { TlsOptions } from './tls.ts';

// node:http through getBuiltinModule, not an ESM import: the ESM facade of node:http reads every export, and
// its lazy getters (WebSocket, CloseEvent, MessageEvent) load Node's bundled undici, about 50 ms of CPU on
// every cold CLI run that never uses them (BENCHMARKS.md, `pinwarden pull`).
const { Agent: HttpAgent, request: httpRequest } = process.getBuiltinModule('node:http');

export interface TransportRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Uint8Array;
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Must be consumed or discarded (`discard`) so the socket returns to the pool. */
  body: IncomingMessage;
}

export interface Transport {
  send(request: TransportRequest): Promise<TransportResponse>;
  close(): void;
}

export interface TransportOptions {
  tls?: TlsOptions;
  /** Skip server certificate checks (Flux `insecure` without a CA). */
  skipVerify?: boolean;
  maxSockets?: number;
  /** Refuses addresses the caller may not reach (the webhook's SSRF guard); none for the CLI. */
  guard?: NetworkGuard;
}

/** Certificate problems: retrying cannot help, and the message says what failed. */
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A TLS client hello answered in plain HTTP (or refused): the endpoint may speak http instead. */
export const TLS_MISMATCH_CODES: ReadonlySet<string> = new Set([
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
]);

const IDLE_SOCKET_MS = 30_000;

/** A connection pool for one TLS setup; shared pools are owned by `RegistryConnections` (connections.ts). */
export function createTransport(options: TransportOptions = {}): Transport {
  const maxSockets = options.maxSockets ?? 64;
  // Idle keep-alive sockets are unref'd by node (they never hold the process open) and closed after 30 s.
  const { guard } = options;
  // The guard judges every address a socket connects to, after DNS, whichever host or spelling asked for it.
  const lookup = guard ? { lookup: guardedLookup(guard) } : {};
  const http = new HttpAgent({ keepAlive: true, maxSockets, timeout: IDLE_SOCKET_MS, ...lookup });
  const https = new HttpsAgent({
    keepAlive: true,
    maxSockets,
    timeout: IDLE_SOCKET_MS,
    ...lookup,
    ...secureContextOptions(options.tls),
    // Nothing is verified, so the bundled root store (about 10 ms of CPU to load) would only be built and unused:
    // an `insecure` registry that speaks plain http is first tried over TLS (client.ts).
    ...(options.skipVerify === true ? { ca: [] } : {}),
    rejectUnauthorized: options.skipVerify !== true,
  });
  return {
    send: (request) => {
      // Literal IP hosts connect without a lookup: judge them here, before any socket exists.
      const literal = guard ? literalAddress(request.url) : undefined;
      const refusal = literal === undefined ? undefined : guard?.checkAddress(literal, literal);
      if (refusal) return Promise.reject(refusal);
      return send(request, request.url.protocol === 'https:' ? https : http);
    },
    close: () => {
      http.destroy();
      https.destroy();
    },
  };
}

function send(request: TransportRequest, agent: HttpAgentType): Promise<TransportResponse> {
  const { method, url, headers, body, signal } = request;
  if (signal.aborted) return Promise.reject(deadlineError(`${method} ${redactUrl(url)}`, signal));
  const issue = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let outgoing: ReturnType<typeof issue>;
    try {
      outgoing = issue(url, {
        method,
        agent,
        signal,
        headers: { ...headers, ...(body ? { 'content-length': String(body.byteLength) } : {}) },
      });
    } catch (error) {
      // e.g. a client certificate whose key does not match: node refuses to build the TLS context.
      reject(networkError(method, url, error, signal));
      return;
    }
    outgoing.once('response', (response) =>
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: response }),
    );
    outgoing.once('error', (error) => reject(networkError(method, url, error, signal)));
    outgoing.end(body);
  });
}

/** Network-level failure → PW_DEADLINE when our signal fired, else PW_REGISTRY_UNREACHABLE. */
export function networkError(method: string, url: URL, error: unknown, signal: AbortSignal): PinwardenError {
  const where = `${method} ${redactUrl(url)}`;
  if (signal.aborted) return deadlineError(where, signal);
  // The SSRF guard's refusal, raised inside the agent's lookup: already safe to show, never retried.
  if (error instanceof PinwardenError) return error;
  const code = (error as { code?: unknown }).code;
  const codeText = typeof code === 'string' ? code : 'network error';
  const retryable = !isTlsFailure(codeText);
  return new PinwardenError('PW_REGISTRY_UNREACHABLE', `${where}: ${describe(codeText, error)}`, {
    cause: error,
    details: { networkCode: codeText, retryable },
  });
}

/** Certificate, handshake and protocol failures: the same request would fail the same way again. */
function isTlsFailure(code: string): boolean {
  return (
    TLS_VERIFY_CODES.has(code) ||
    TLS_MISMATCH_CODES.has(code) ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_')
  );
}

function describe(code: string, error: unknown): string {
  if (TLS_MISMATCH_CODES.has(code)) return 'the endpoint does not speak TLS (plain HTTP needs the insecure option)';
  // OpenSSL messages span lines and name source files; the first line is the useful part.
  const firstLine = error instanceof Error ? (error.message.split('\n')[0] ?? code).replace(/\?\S*/g, '') : code;
  const message = /SSL routines:[^:]*:([^:]+)/.exec(firstLine)?.[1] ?? firstLine;
  return isTlsFailure(code) ? `TLS failed: ${message}` : message;
}

/** Throws away a response body (keeps the connection reusable). */
export function discard(response: TransportResponse): void {
  response.body.resume();
}
