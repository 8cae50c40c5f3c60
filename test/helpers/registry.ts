/**
 * Starts Debian's real `docker-registry` (distribution 2.8) on loopback for integration tests:
 * plain HTTP, htpasswd basic auth, token auth (with a loopback token server) and TLS (optionally mTLS).
 * Storage lives in a temp dir that `stop()` removes; always call `stop()` in `after()`.
 *
 *   const registry = await startRegistry({ mode: 'plain' });
 *   after(() => registry.stop());
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { createTestCa } from './certs.ts';
import { startTokenServer } from './token-server.ts';
import type { TokenServer } from './token-server.ts';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export type RegistryMode = 'plain' | 'basic' | 'token' | 'tls';

export interface StartRegistryOptions {
  /** `plain` (default): no auth, HTTP. `tls` is HTTPS without auth; `auth` can add basic/token on top. */
  mode?: RegistryMode;
  auth?: 'none' | 'basic' | 'token';
  /** mTLS (`http.tls.clientcas`); implies TLS. */
  clientCertificates?: boolean;
  tokenExpiresInSeconds?: number;
}

export interface RegistryUser {
  username: string;
  password: string;
  /** Accepted by the token server's OAuth2 refresh-token grant (token mode). */
  identityToken: string;
}

export interface RegistryTls {
  /** CA that signed the server (and client) certificates. */
  caPem: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

export interface RegistryRequest {
  method: string;
  path: string;
  status: number;
}

export interface TestRegistry {
  /** Base URL, `http://127.0.0.1:PORT` or `https://…`. */
  url: string;
  /** `127.0.0.1:PORT`, for `oci://${host}/repo`. */
  host: string;
  insecure: boolean;
  user?: RegistryUser;
  tls?: RegistryTls;
  tokenServer?: TokenServer;
  /** Requests the registry logged (method, path without query, status), in order. */
  requestLog: RegistryRequest[];
  logs: string[];
  stop(): Promise<void>;
}

interface Layout {
  auth: 'none' | 'basic' | 'token';
  tls: boolean;
  clientCertificates: boolean;
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const layout = layoutOf(options);
  const dir = await mkdtemp(join(tmpdir(), 'pinwarden-registry-'));
  const user: RegistryUser = {
    username: 'pinwarden',
    password: randomBytes(9).toString('base64url'),
    identityToken: randomBytes(12).toString('hex'),
  };
  const extras = await prepareExtras(dir, layout, user, options.tokenExpiresInSeconds ?? 300);
  try {
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const started = await tryStart(dir, port, layout, extras).catch((error: unknown) => {
        if (attempt >= 2) throw error;
        return undefined;
      });
      if (started)
        return {
          ...started,
          ...(layout.auth === 'none' ? {} : { user }),
          stop: stopper(started.child, dir, extras.tokenServer),
        };
    }
  } catch (error) {
    await extras.tokenServer?.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function layoutOf(options: StartRegistryOptions): Layout {
  const mode = options.mode ?? 'plain';
  const auth = options.auth ?? (mode === 'basic' || mode === 'token' ? mode : 'none');
  const clientCertificates = options.clientCertificates === true;
  return { auth, tls: mode === 'tls' || clientCertificates, clientCertificates };
}

interface Extras {
  yaml: string[];
  tls?: RegistryTls;
  tokenServer?: TokenServer;
}

async function prepareExtras(dir: string, layout: Layout, user: RegistryUser, expiresIn: number): Promise<Extras> {
  const extras: Extras = { yaml: [] };
  if (layout.auth === 'basic') {
    await writeFile(join(dir, 'htpasswd'), `${user.username}:${bcrypt.hashSync(user.password, 5)}\n`);
    extras.yaml.push('auth:', '  htpasswd:', '    realm: pinwarden-test', `    path: ${join(dir, 'htpasswd')}`);
  }
  if (layout.auth === 'token') {
    const service = 'pinwarden-registry';
    const issuer = 'pinwarden-test-issuer';
    const server = await startTokenServer({ service, issuer, ...user, expiresInSeconds: expiresIn });
    await writeFile(join(dir, 'token-root.pem'), server.signerCertPem);
    extras.tokenServer = server;
    extras.yaml.push(
      'auth:',
      '  token:',
      `    realm: ${server.url}`,
      `    service: ${service}`,
      `    issuer: ${issuer}`,
    );
    extras.yaml.push(`    rootcertbundle: ${join(dir, 'token-root.pem')}`);
  }
  if (layout.tls) extras.tls = await writeTlsFiles(dir, layout.clientCertificates);
  return extras;
}

async function writeTlsFiles(dir: string, clientCertificates: boolean): Promise<RegistryTls> {
  const ca = await createTestCa();
  const server = await ca.issue({ commonName: 'registry', usage: 'server' });
  await writeFile(join(dir, 'ca.pem'), ca.certPem);
  await writeFile(join(dir, 'server.pem'), server.certPem);
  await writeFile(join(dir, 'server-key.pem'), server.keyPem);
  if (!clientCertificates) return { caPem: ca.certPem };
  const client = await ca.issue({ commonName: 'pinwarden-client', usage: 'client' });
  return { caPem: ca.certPem, clientCertPem: client.certPem, clientKeyPem: client.keyPem };
}

function configYaml(dir: string, port: number, layout: Layout, extras: Extras): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (layout.tls) {
    lines.push('  tls:', `    certificate: ${join(dir, 'server.pem')}`, `    key: ${join(dir, 'server-key.pem')}`);
    if (layout.clientCertificates) lines.push('    clientcas:', `      - ${join(dir, 'ca.pem')}`);
  }
  return [...lines, ...extras.yaml, ''].join('\n');
}

interface Started {
  url: string;
  host: string;
  insecure: boolean;
  tls?: RegistryTls;
  tokenServer?: TokenServer;
  requestLog: RegistryRequest[];
  logs: string[];
  child: ChildProcess;
}

async function tryStart(dir: string, port: number, layout: Layout, extras: Extras): Promise<Started> {
  const configPath = join(dir, `config-${port}.yml`);
  await writeFile(configPath, configYaml(dir, port, layout, extras));
  // A clean environment: REGISTRY_* variables would override the config file.
  const child = spawn(REGISTRY_BINARY, ['serve', configPath], {
    env: { PATH: process.env.PATH ?? '/usr/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const requestLog: RegistryRequest[] = [];
  collectLogs(child, logs, requestLog);
  const host = `127.0.0.1:${port}`;
  const url = `${layout.tls ? 'https' : 'http'}://${host}`;
  try {
    await waitReady(child, url, extras.tls, logs);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    host,
    insecure: !layout.tls,
    ...(extras.tls ? { tls: extras.tls } : {}),
    ...(extras.tokenServer ? { tokenServer: extras.tokenServer } : {}),
    requestLog,
    logs,
    child,
  };
}

function collectLogs(child: ChildProcess, logs: string[], requestLog: RegistryRequest[]): void {
  let pending = '';
  const onData = (chunk: Buffer): void => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      logs.push(line);
      const parsed = parseRequestLine(line);
      if (parsed) requestLog.push(parsed);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
}

function parseRequestLine(line: string): RegistryRequest | undefined {
  const method = /http\.request\.method=(\w+)/.exec(line)?.[1];
  const uri = /http\.request\.uri="?([^"\s]+)"?/.exec(line)?.[1];
  // A refused request is logged as a warning without a status line.
  const status =
    /http\.response\.status=(\d+)/.exec(line)?.[1] ?? (line.includes('error authorizing context') ? '401' : undefined);
  if (method === undefined || uri === undefined || status === undefined) return undefined;
  return { method, path: uri.split('?')[0] ?? uri, status: Number(status) };
}

async function waitReady(
  child: ChildProcess,
  url: string,
  tls: RegistryTls | undefined,
  logs: string[],
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${logs.slice(-5).join('\n')}`);
    if (await probe(`${url}/v2/`, tls)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`docker-registry did not become ready: ${logs.slice(-5).join('\n')}`);
}

/** Any HTTP answer on /v2/ (200, or 401 with auth on) means the registry is serving. */
function probe(url: string, tls: RegistryTls | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const onResponse = (res: { statusCode?: number; resume(): void }): void => {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 401);
    };
    const req = tls
      ? request(
          url,
          {
            agent: new Agent({
              ca: tls.caPem,
              ...(tls.clientCertPem ? { cert: tls.clientCertPem, key: tls.clientKeyPem } : {}),
            }),
          },
          onResponse,
        )
      : httpGet(url, onResponse);
    if (tls) req.end();
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
  });
}

function stopper(child: ChildProcess, dir: string, tokenServer: TokenServer | undefined): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      await tokenServer?.close();
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
}

/** Asks the kernel for a free loopback port (a small race remains; startRegistry retries). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
