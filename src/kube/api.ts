/**
 * A small Kubernetes REST client for any resource: `request` (one JSON call with a deadline) and `watch`
 * (a streamed `?watch=1` call, one JSON event per line). The connection settings (server, CA, client
 * certificate, token, exec plugins) come from @kubernetes/client-node's KubeConfig; the requests themselves are
 * node:https so every call has its own deadline and a watch can be cut and resumed exactly.
 *
 * Errors are PinwardenError `PW_KUBE_API` with `details.status` (HTTP status, 0 when unreachable),
 * `details.reason` (the apiserver's Status reason: Conflict, TooManyRequests, Expired…) and
 * `details.retryAfterMs` when the apiserver sent Retry-After. The apiserver's own Status message (never a
 * request or response body of ours) is kept, truncated: it names the object and why it was refused.
 */
import { request as httpRequest } from 'node:http';
import type { IncomingMessage, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { PinwardenError } from '../core/errors.ts';
import { loadKubeConfig as loadConfig } from './connection.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface KubeRequest {
  method: HttpMethod;
  /** Absolute API path, e.g. `/apis/source.toolkit.fluxcd.io/v1/namespaces/ns/ocirepositories/x/status`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Default `application/json`; PATCH takes `application/merge-patch+json`, `application/apply-patch+yaml`… */
  contentType?: string;
  /** Deadline of this call in ms (default: the client's `timeoutMs`). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface WatchEvent {
  type: string;
  object: Record<string, unknown>;
}

export interface WatchOptions {
  signal?: AbortSignal;
  /** Abort when the stream is silent this long (server-side `timeoutSeconds` plus a margin). */
  idleTimeoutMs: number;
  /** Deadline for the response headers (default: the client's `timeoutMs`). */
  connectTimeoutMs?: number;
}

export interface KubeApi {
  /** The server URL, for messages. */
  readonly server: string;
  request<T = Record<string, unknown>>(request: KubeRequest): Promise<T>;
  /** Streams watch events until the server ends the response (resolves) or an error (rejects). */
  watch(
    path: string,
    query: KubeRequest['query'],
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
  ): Promise<void>;
}

export interface KubeApiOptions {
  /** A kubeconfig file; default in-cluster, then $KUBECONFIG / ~/.kube/config. */
  kubeconfig?: string;
  /** Or an already loaded KubeConfig (tests). */
  config?: KubeConfig;
  /** Default per-call deadline (ms, default 10 000). */
  timeoutMs?: number;
  /** Largest response body read (bytes, default 64 MiB: one list page of big objects). */
  maxBodyBytes?: number;
  /** Called once per request (metrics: API calls by verb and status). */
  onCall?: (method: HttpMethod, status: number) => void;
  userAgent?: string;
}

const MAX_LINE_BYTES = 16 * 1024 * 1024;

export function createKubeApi(options: KubeApiOptions = {}): KubeApi {
  const config = options.config ?? loadConfig(options.kubeconfig);
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new PinwardenError('PW_INPUT_INVALID', 'kubeconfig has no current cluster');
  const server = cluster.server.replace(/\/+$/, '');
  const base = new URL(server);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const userAgent = options.userAgent ?? 'pinwarden-controller';

  const open = async (
    method: HttpMethod,
    path: string,
    query: KubeRequest['query'],
    contentType: string | undefined,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<IncomingMessage> => {
    const url = new URL(base.pathname.replace(/\/$/, '') + path, base);
    for (const [key, value] of Object.entries(query ?? {}))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const requestOptions: RequestOptions & { headers: Record<string, string> } = {
      method,
      hostname: base.hostname.replace(/^\[|\]$/g, ''),
      port: base.port || (base.protocol === 'https:' ? 443 : 80),
      path: url.pathname + url.search,
      headers: { accept: 'application/json', 'user-agent': userAgent },
      signal,
    };
    // Credentials (client certificate, bearer token, exec plugin) and the CA, exactly as client-node sets them.
    await config.applyToHTTPSOptions(requestOptions);
    // A plain-HTTP server (a local proxy) takes no TLS agent.
    if (base.protocol === 'http:') delete requestOptions.agent;
    if (body !== undefined) {
      requestOptions.headers['content-type'] = contentType ?? 'application/json';
      requestOptions.headers['content-length'] = String(Buffer.byteLength(body));
    }
    const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(requestOptions, resolve);
      req.on('error', reject);
      req.end(body);
    });
  };

  const failure = (
    method: HttpMethod,
    path: string,
    error: unknown,
    signal: AbortSignal,
    outer: AbortSignal | undefined,
  ): PinwardenError => {
    if (error instanceof PinwardenError) return error;
    if (outer?.aborted)
      return new PinwardenError('PW_DEADLINE', `${method} ${path}: cancelled`, {
        cause: error,
        details: { status: 0 },
      });
    if (signal.aborted)
      return new PinwardenError('PW_KUBE_API', `${method} ${path}: Kubernetes API deadline exceeded`, {
        cause: error,
        details: { status: 0, reason: 'Timeout' },
      });
    const text = error instanceof Error ? error.message : String(error);
    return new PinwardenError(
      'PW_KUBE_API',
      `${method} ${path}: Kubernetes API unreachable: ${text.split('\n')[0]?.slice(0, 200)}`,
      { cause: error, details: { status: 0, reason: 'Unreachable' } },
    );
  };

  return {
    server,
    async request<T>(call: KubeRequest): Promise<T> {
      const deadline = AbortSignal.timeout(call.timeoutMs ?? timeoutMs);
      const signal = call.signal ? AbortSignal.any([call.signal, deadline]) : deadline;
      const payload =
        call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
      let status = 0;
      try {
        const response = await open(call.method, call.path, call.query, call.contentType, payload, signal);
        status = response.statusCode ?? 0;
        const text = await readBody(response, maxBody, call.path);
        if (status >= 200 && status < 300) return (text === '' ? {} : JSON.parse(text)) as T;
        throw statusError(call.method, call.path, status, text, response.headers['retry-after']);
      } catch (error) {
        throw failure(call.method, call.path, error, signal, call.signal);
      } finally {
        options.onCall?.(call.method, status);
      }
    },
    async watch(path, query, watchOptions, onEvent) {
      const idle = new AbortController();
      const signal = watchOptions.signal ? AbortSignal.any([watchOptions.signal, idle.signal]) : idle.signal;
      let timer = setTimeout(() => idle.abort(new Error('watch idle')), watchOptions.connectTimeoutMs ?? timeoutMs);
      const touch = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => idle.abort(new Error('watch idle')), watchOptions.idleTimeoutMs);
      };
      let status = 0;
      try {
        const response = await open('GET', path, { ...query, watch: 1 }, undefined, undefined, signal);
        status = response.statusCode ?? 0;
        if (status < 200 || status >= 300)
          throw statusError(
            'GET',
            path,
            status,
            await readBody(response, 1024 * 1024, path),
            response.headers['retry-after'],
          );
        touch();
        let pending = '';
        for await (const chunk of response) {
          touch();
          pending += (chunk as Buffer).toString('utf8');
          if (pending.length > MAX_LINE_BYTES)
            throw new PinwardenError('PW_KUBE_API', `watch ${path}: an event is over ${MAX_LINE_BYTES} bytes`, {
              details: { status },
            });
          let newline = pending.indexOf('\n');
          while (newline >= 0) {
            const line = pending.slice(0, newline).trim();
            pending = pending.slice(newline + 1);
            if (line !== '') onEvent(JSON.parse(line) as WatchEvent);
            newline = pending.indexOf('\n');
          }
        }
        if (signal.aborted) throw signal.reason;
      } catch (error) {
        if (idle.signal.aborted && !watchOptions.signal?.aborted)
          throw new PinwardenError('PW_KUBE_API', `watch ${path}: no data within ${watchOptions.idleTimeoutMs} ms`, {
            details: { status: 0, reason: 'Timeout' },
          });
        throw failure('GET', path, error, signal, watchOptions.signal);
      } finally {
        clearTimeout(timer);
        options.onCall?.('GET', status);
      }
    },
  };
}

async function readBody(response: IncomingMessage, max: number, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).length;
    if (size > max) {
      response.destroy();
      throw new PinwardenError('PW_KUBE_API', `${path}: response over ${max} bytes`, {
        details: { status: response.statusCode ?? 0 },
      });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function statusError(
  method: HttpMethod,
  path: string,
  status: number,
  text: string,
  retryAfter: string | string[] | undefined,
): PinwardenError {
  let reason = '';
  let message = '';
  try {
    const body = JSON.parse(text) as { reason?: unknown; message?: unknown };
    if (typeof body.reason === 'string') reason = body.reason;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // Not a Status document (a proxy's page): only the status code is reported.
  }
  const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  const details: Record<string, unknown> = {
    status,
    ...(reason ? { reason } : {}),
    ...(Number.isFinite(seconds) && seconds >= 0 ? { retryAfterMs: Math.min(seconds, 600) * 1000 } : {}),
  };
  const said = message ? `: ${message.slice(0, 500)}` : reason ? ` (${reason})` : '';
  return new PinwardenError('PW_KUBE_API', `${method} ${path}: Kubernetes API answered ${status}${said}`, { details });
}

/** The HTTP status of a Kubernetes API error (0: unreachable or deadline; undefined: not an API error). */
export function kubeStatusOf(error: unknown): number | undefined {
  if (!(error instanceof PinwardenError) || error.code !== 'PW_KUBE_API') return undefined;
  const status = error.details.status;
  return typeof status === 'number' ? status : undefined;
}

/** True for the errors a retry may fix: unreachable, deadline, 409, 429, 5xx. */
export function isRetriableKubeError(error: unknown): boolean {
  const status = kubeStatusOf(error);
  return status !== undefined && (status === 0 || status === 409 || status === 429 || status >= 500);
}
