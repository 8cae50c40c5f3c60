/**
 * A scriptable node:http "registry" for fault injection only (slow answers, 5xx, 429 + Retry-After, garbage
 * bodies, wrong digests, Link pages). Protocol behaviour is tested against the real registry; this exists
 * because a real one cannot be made to misbehave on cue.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from './close-server.ts';

export interface FakeRequest {
  method: string;
  path: string;
  /** Query string, without `?`. */
  query: string;
  headers: IncomingMessage['headers'];
}

/** Return true when the request was answered; false/undefined gives a 404 with a registry error body. */
export type FakeRoute = (request: FakeRequest, res: ServerResponse) => boolean | undefined | void;

export interface FakeRegistry {
  url: string;
  host: string;
  requests: FakeRequest[];
  /** Requests matching `METHOD path` exactly. */
  count(method: string, path: string): number;
  route: FakeRoute;
  stop(): Promise<void>;
}

/** `host`: the loopback address to listen on (default 127.0.0.1; the security tests put tenants on 127.0.0.2). */
export async function startFakeRegistry(route: FakeRoute = () => false, host = '127.0.0.1'): Promise<FakeRegistry> {
  const requests: FakeRequest[] = [];
  const fake = { requests, route } as FakeRegistry;
  const server = createServer((req, res) => {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    const request: FakeRequest = { method: req.method ?? 'GET', path, query, headers: req.headers };
    requests.push(request);
    req.resume();
    if (fake.route(request, res) !== true)
      sendJson(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'no route in fake registry' }] });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  fake.url = `http://${host}:${port}`;
  fake.host = `${host}:${port}`;
  fake.count = (method, path) => requests.filter((r) => r.method === method && r.path === path).length;
  fake.stop = () => closeServer(server);
  return fake;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): true {
  const bytes = Buffer.from(JSON.stringify(body));
  res
    .writeHead(status, { 'content-type': 'application/json', 'content-length': String(bytes.length), ...headers })
    .end(bytes);
  return true;
}

/** A manifest answer; `digest` overrides the Docker-Content-Digest header (to lie). */
export function sendManifest(
  res: ServerResponse,
  bytes: Uint8Array,
  options: { head?: boolean; digest?: string | null; mediaType?: string } = {},
): true {
  const headers: Record<string, string> = {
    'content-type': options.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    'content-length': String(bytes.byteLength),
  };
  if (options.digest !== null) headers['docker-content-digest'] = options.digest ?? sha256(bytes);
  res.writeHead(200, headers);
  res.end(options.head ? undefined : Buffer.from(bytes));
  return true;
}

export function sha256(bytes: Uint8Array): `sha256:${string}` {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}
