/**
 * The controller-only process's plain-HTTP side port: `/healthz` (alive), `/readyz` (every watch listed
 * once: 503 until then) and `/metrics` (prom-client). `serve --controller` uses the webhook's port instead.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ProbeServer {
  url: string;
  close(): Promise<void>;
}

export async function startProbeServer(options: {
  port: number;
  host: string;
  registry: Registry;
  isReady: () => boolean;
  isLeader: () => boolean;
}): Promise<ProbeServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (request.method !== 'GET') return json(405, { status: 'method not allowed' });
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz')
      return options.isReady()
        ? json(200, { status: 'ready', watchesSynced: true, leader: options.isLeader() })
        : json(503, { status: 'not ready', watchesSynced: false });
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        () => json(500, { status: 'metrics failed' }),
      );
      return;
    }
    json(404, { status: 'not found' });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
