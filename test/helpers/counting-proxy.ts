/**
 * A forwarding proxy in front of a plain-HTTP registry that counts the HTTP requests passing through it
 * (`METHOD /path`, query dropped). It works at the HTTP level rather than raw TCP so that keep-alive
 * connections carrying many requests are counted exactly. An optional `tamper` hook may answer a request
 * itself or rewrite the registry's response headers (e.g. drop Docker-Content-Digest from HEAD answers).
 */
import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from './close-server.ts';

export interface TamperDecision {
  /** Answer without contacting the registry. */
  respond?: { status: number; headers?: Record<string, string>; body?: string | Uint8Array };
  /** Rewrite the registry's answer headers. */
  rewriteHeaders?: (headers: IncomingHttpHeaders) => IncomingHttpHeaders;
}

export type Tamper = (method: string, path: string) => TamperDecision | undefined;

export interface CountingProxy {
  url: string;
  host: string;
  /** `GET /v2/acme/app/manifests/v1` → number of requests. */
  counts: Map<string, number>;
  count(method: string, path: string): number;
  /** Requests whose `METHOD path` starts with the given prefix, e.g. `HEAD /v2/acme/app/manifests/`. */
  countPrefix(prefix: string): number;
  reset(): void;
  tamper: Tamper | undefined;
  stop(): Promise<void>;
}

export async function startCountingProxy(targetUrl: string): Promise<CountingProxy> {
  const target = new URL(targetUrl);
  if (target.protocol !== 'http:') throw new Error('the counting proxy forwards to plain-HTTP registries only');
  const counts = new Map<string, number>();
  const proxy: Omit<CountingProxy, 'url' | 'host' | 'stop'> = {
    counts,
    count: (method, path) => counts.get(`${method} ${path}`) ?? 0,
    countPrefix: (prefix) => [...counts].filter(([key]) => key.startsWith(prefix)).reduce((sum, [, n]) => sum + n, 0),
    reset: () => counts.clear(),
    tamper: undefined,
  };
  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const key = `${method} ${path}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    forward(req, res, target, proxy.tamper?.(method, path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    stop: () => closeServer(server),
  });
}

function forward(req: IncomingMessage, res: ServerResponse, target: URL, decision: TamperDecision | undefined): void {
  if (decision?.respond) {
    req.resume();
    res.writeHead(decision.respond.status, decision.respond.headers ?? {}).end(decision.respond.body ?? '');
    return;
  }
  const upstream = request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: target.host },
    },
    (answer) => {
      const headers = decision?.rewriteHeaders ? decision.rewriteHeaders({ ...answer.headers }) : answer.headers;
      res.writeHead(answer.statusCode ?? 502, rewriteLocation(headers, target, req));
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.writeHead(502).end());
  req.pipe(upstream);
}

/** Upload Locations name the registry's own address; keep the client talking to the proxy. */
function rewriteLocation(headers: IncomingHttpHeaders, target: URL, req: IncomingMessage): IncomingHttpHeaders {
  const location = headers.location;
  if (typeof location !== 'string' || !location.startsWith(target.origin)) return headers;
  return { ...headers, location: `http://${req.headers.host ?? ''}${location.slice(target.origin.length)}` };
}
