/**
 * One registry host, one repository: sends distribution-spec requests with auth (answering one 401 per
 * request), retries (429/502/503/504 and network errors, with `Retry-After`, inside the deadline), redirects
 * (blob downloads often go to storage; credentials never follow to another origin) and events for metrics.
 * With `insecure`, https is tried first without verification and plain http used when the endpoint does
 * not speak TLS (go-containerregistry's ping fallback, which Flux's `spec.insecure` relies on).
 */
import { PinwardenError } from '../core/errors.ts';
import { createAuthorizer } from './auth.ts';
import type { Action, Authorizer } from './auth.ts';
import { readCapped } from './body.ts';
import type { Credentials } from './credentials.ts';
import { emit, emitResponseBody } from './events.ts';
import type { Endpoint, EventSink } from './events.ts';
import { redactUrl, statusError } from './registry-error.ts';
import {
  DEFAULT_RETRY_POLICY,
  RETRYABLE_STATUSES,
  deadlineError,
  parseRetryAfter,
  planRetry,
  systemClock,
} from './retry.ts';
import type { Clock, RetryPolicy, RetryableFailure } from './retry.ts';
import { createTokenCache } from './token-cache.ts';
import type { TokenCache } from './token-cache.ts';
import { TLS_MISMATCH_CODES, createTransport } from './transport.ts';
import { privatePlainHttpMemo } from './connections.ts';
import type { RegistryConnections } from './connections.ts';
import type { Transport, TransportResponse } from './transport.ts';
import { tlsIdentity } from './tls.ts';
import type { TlsOptions } from './tls.ts';
import type { NetworkGuard } from './network-guard.ts';
import type { Call } from './types.ts';

export interface RegistryClientOptions {
  /** `host[:port]` serving the API. */
  host: string;
  repository: string;
  insecure?: boolean;
  credentials?: Credentials;
  tls?: TlsOptions;
  retry?: Partial<RetryPolicy>;
  clock?: Clock;
  onEvent?: EventSink;
  userAgent?: string;
  transport?: Transport;
  tokenCache?: TokenCache;
  /**
   * The owner of pooled connections, the token cache and the plain-HTTP memo (created by the entrypoint). Without
   * one, the client owns a private transport and token cache and closes them in `close()`.
   */
  connections?: RegistryConnections;
  /** The SSRF guard: checks every address connected to, and the hosts of redirects and token realms. */
  guard?: NetworkGuard;
}

export interface RegistryRequest {
  method: string;
  /** A path under the registry origin (`/v2/…`) or an absolute URL the registry gave us (Link, Location). */
  target: string | URL;
  headers?: Record<string, string>;
  body?: Uint8Array;
  endpoint: Endpoint;
  action: Action;
}

export interface RegistryResponse extends TransportResponse {
  method: string;
  /** The URL that produced this answer (after redirects). */
  url: URL;
}

export interface RegistryClient {
  send(request: RegistryRequest, call: Call): Promise<RegistryResponse>;
  /** Reads a non-success answer's body and turns it into the catalogue error. */
  failure(response: RegistryResponse, call: Call, details?: Record<string, unknown>): Promise<PinwardenError>;
  close(): void;
}

const MAX_REDIRECTS = 5;
const MAX_ERROR_BODY = 64 * 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const clock = options.clock ?? systemClock;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const insecure = options.insecure === true;
  const { guard } = options;
  const transportOptions = {
    ...(options.tls ? { tls: options.tls } : {}),
    skipVerify: insecure && options.tls?.ca === undefined,
    ...(guard ? { guard } : {}),
  };
  const transport =
    options.transport ?? options.connections?.transport(transportOptions) ?? createTransport(transportOptions);
  // Hosts where an insecure https attempt found plain http, so later clients of the same owner go straight to http.
  const plainHttp = options.connections?.plainHttp ?? privatePlainHttpMemo();
  let scheme: 'https:' | 'http:' = insecure && plainHttp.isPlainHttp(options.host) ? 'http:' : 'https:';
  const origin = (): string => `${scheme}//${options.host}`;
  const baseHeaders = { 'user-agent': options.userAgent ?? 'pinwarden/0.1' };

  const attempt = async (
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: Uint8Array | undefined,
    endpoint: Endpoint,
    call: Call,
  ): Promise<RegistryResponse> => {
    for (let tries = 0; ; tries++) {
      if (call.signal.aborted) throw deadlineError(`${method} ${redactUrl(url)}`, call.signal);
      const started = clock.now();
      let failure: RetryableFailure;
      try {
        const response = await transport.send({
          method,
          url,
          headers: { ...baseHeaders, ...headers },
          ...(body ? { body } : {}),
          signal: call.signal,
        });
        report(endpoint, method, response.status, started);
        if (!RETRYABLE_STATUSES.has(response.status)) return { ...response, method, url };
        const errorBody = await readCapped(response, MAX_ERROR_BODY, {
          what: `${method} ${redactUrl(url)}`,
          signal: call.signal,
        }).catch(() => new Uint8Array());
        emitResponseBody(options.onEvent, options.host, method, url, response.status, errorBody);
        const retryAfterMs = parseRetryAfter(response.headers['retry-after'], clock.now());
        failure = {
          error: statusError(
            method,
            url,
            response.status,
            errorBody,
            retryAfterMs === undefined ? {} : { retryAfterMs },
          ),
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        };
      } catch (error) {
        if (!(error instanceof PinwardenError)) throw error;
        report(endpoint, method, error.code === 'PW_DEADLINE' ? 'deadline' : 'network', started);
        if (switchToPlainHttp(error, url)) {
          url = new URL(url.href.replace(/^https:/, 'http:'));
          tries--;
          continue;
        }
        if (error.code === 'PW_DEADLINE' || error.details.retryable !== true) throw error;
        failure = { error };
      }
      const delay = planRetry(policy, clock, call, tries, failure);
      if (delay instanceof PinwardenError) throw delay;
      emit(options.onEvent, {
        type: 'retry',
        endpoint,
        registry: options.host,
        reason: failure.error.message,
        delayMs: delay,
      });
      await clock.sleep(delay, call.signal).catch(() => {
        throw deadlineError(`${method} ${redactUrl(url)}`, call.signal);
      });
    }
  };

  const report = (
    endpoint: Endpoint,
    method: string,
    outcome: number | 'network' | 'deadline',
    started: number,
  ): void => {
    emit(options.onEvent, {
      type: 'request',
      endpoint,
      method,
      registry: options.host,
      outcome,
      durationMs: clock.now() - started,
    });
  };

  /** Insecure registries: https refused or answered in plain text → use http for this host from now on. */
  const switchToPlainHttp = (error: PinwardenError, url: URL): boolean => {
    if (!insecure || url.protocol !== 'https:' || url.host !== options.host) return false;
    const code = error.details.networkCode;
    if (typeof code !== 'string' || !(TLS_MISMATCH_CODES.has(code) || code === 'ECONNREFUSED' || code === 'ECONNRESET'))
      return false;
    scheme = 'http:';
    plainHttp.remember(options.host);
    return true;
  };

  const authorizer: Authorizer = createAuthorizer({
    host: options.host,
    repository: options.repository,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    insecure,
    tlsIdentity: tlsIdentity(options.tls),
    cache: options.tokenCache ?? options.connections?.tokenCache ?? createTokenCache(),
    now: () => clock.now(),
    send: (request, call) => {
      const refusal = guard?.checkHost(request.url, 'token realm');
      if (refusal) return Promise.reject(refusal);
      return attempt(request.method, request.url, request.headers, request.body, 'token', call);
    },
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });

  const failure = async (
    response: RegistryResponse,
    call: Call,
    details: Record<string, unknown> = {},
  ): Promise<PinwardenError> => {
    const body = await readCapped(response, MAX_ERROR_BODY, {
      what: `${response.method} ${redactUrl(response.url)}`,
      signal: call.signal,
    }).catch(() => new Uint8Array());
    emitResponseBody(options.onEvent, options.host, response.method, response.url, response.status, body);
    return statusError(response.method, response.url, response.status, body, details);
  };

  const send = async (request: RegistryRequest, call: Call): Promise<RegistryResponse> => {
    let url = typeof request.target === 'string' ? new URL(request.target, origin()) : request.target;
    const headers = { ...request.headers };
    const sameOrigin = (target: URL): boolean => target.host === options.host;
    let authorization = sameOrigin(url) ? await authorizer.headerFor(request.action, call) : undefined;
    const withAuth = (target: URL): Record<string, string> =>
      authorization !== undefined && sameOrigin(target) ? { ...headers, authorization } : headers;
    let response = await attempt(request.method, url, withAuth(url), request.body, request.endpoint, call);
    if (response.status === 401 && sameOrigin(url)) {
      // Drain the 401 first: its socket must go back to the pool even if the token request fails.
      const refusal = await failure(response, call);
      const header = response.headers['www-authenticate'];
      const fresh = await authorizer.answer(
        typeof header === 'string' ? header : undefined,
        request.action,
        call,
        authorization !== undefined,
      );
      if (fresh === undefined) throw refusal;
      authorization = fresh;
      response = await attempt(
        request.method,
        response.url,
        withAuth(response.url),
        request.body,
        request.endpoint,
        call,
      );
    }
    for (let hops = 0; REDIRECTS.has(response.status); hops++) {
      response.body.resume();
      url = redirectTarget(response, request.endpoint, hops);
      const refusal = guard?.checkHost(url, 'redirect target');
      if (refusal) throw refusal;
      const method = response.status === 303 ? 'GET' : request.method;
      response = await attempt(
        method,
        url,
        withAuth(url),
        method === 'GET' ? undefined : request.body,
        request.endpoint,
        call,
      );
    }
    return response;
  };

  return { send, failure, close: () => transport.close() };
}

/**
 * Where a redirect may lead: only blob downloads are redirected (to storage), never manifests, tags,
 * referrers or tokens (an answer that pins must come from the registry itself); never from https to http.
 * Credentials only follow to the same host (`withAuth`).
 */
function redirectTarget(response: RegistryResponse, endpoint: Endpoint, hops: number): URL {
  const where = `${response.method} ${redactUrl(response.url)}`;
  if (endpoint !== 'blob')
    throw new PinwardenError(
      'PW_REGISTRY_PROTOCOL',
      `${where}: redirected (${response.status}); pinwarden follows redirects only for blob downloads`,
      { details: { status: response.status } },
    );
  if (hops >= MAX_REDIRECTS) throw new PinwardenError('PW_REGISTRY_PROTOCOL', `${where}: too many redirects`);
  const location = response.headers.location;
  let target: URL;
  try {
    target = new URL(typeof location === 'string' ? location : '', response.url);
  } catch {
    throw new PinwardenError('PW_REGISTRY_PROTOCOL', `${where}: redirect without a valid Location`);
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:')
    throw new PinwardenError('PW_REGISTRY_PROTOCOL', `${where}: redirect to an unsupported scheme`);
  if (response.url.protocol === 'https:' && target.protocol === 'http:') {
    throw new PinwardenError('PW_REGISTRY_PROTOCOL', `${where}: redirect from https to plain http refused`);
  }
  return target;
}
