/**
 * The real `pinwarden serve` (dist/main.js, built by `npm test`'s pretest) as a child process on loopback,
 * with a throwaway CA and serving certificate, for the attacks that need the whole process: its memory, its
 * event loop, its sockets. Logs (pino JSON on stdout) are kept for assertions.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { request } from 'node:https';
import type { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { builtCli } from '../helpers/cli.ts';
import { createTestCa } from '../helpers/certs.ts';
import type { KeyPairPem, TestCa } from '../helpers/certs.ts';
import type { Loose } from '../helpers/admission.ts';

export interface ServeProcess {
  child: ChildProcess;
  work: string;
  ca: TestCa;
  serving: KeyPairPem;
  webhookPort: number;
  metricsUrl: string;
  logs: Array<Record<string, unknown>>;
  stderr(): string;
  /** Resident set size of the serve process (bytes), from /proc. */
  rssBytes(): number;
  post(
    path: string,
    body: string,
    options?: PostOptions,
  ): Promise<{ status: number; text: string; json: Loose; ms: number }>;
  healthzMs(): Promise<number>;
  stop(): Promise<number | null>;
}

export interface PostOptions {
  agent?: Agent | false;
  cert?: string;
  key?: string;
  contentType?: string;
  timeoutMs?: number;
}

export interface ServeProcessOptions {
  /** YAML of the SourcePolicy spec. */
  policy: string;
  args?: string[];
  /** Called with the CA to write extra files (a client CA) before the process starts; returns extra args. */
  prepare?: (work: string, ca: TestCa) => Promise<string[]>;
  /** Extra Node flags for the child (e.g. --max-old-space-size). */
  nodeFlags?: string[];
}

export async function startServeProcess(options: ServeProcessOptions): Promise<ServeProcess> {
  const work = mkdtempSync(join(tmpdir(), 'pinwarden-serve-sec-'));
  const ca = await createTestCa('webhook CA');
  const serving = await ca.issue({ commonName: 'pinwarden', usage: 'server', ips: ['127.0.0.1'], dns: ['localhost'] });
  writeFileSync(join(work, 'tls.crt'), serving.certPem);
  writeFileSync(join(work, 'tls.key'), serving.keyPem);
  const indented = options.policy
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  writeFileSync(
    join(work, 'policy.yaml'),
    `apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: security}\nspec:\n${indented}\n`,
  );
  const extra = options.prepare ? await options.prepare(work, ca) : [];
  const args = [
    ...(options.nodeFlags ?? []),
    builtCli(),
    'serve',
    '--port',
    '0',
    '--metrics-port',
    '0',
    '--host',
    '127.0.0.1',
    '--tls-cert',
    join(work, 'tls.crt'),
    '--tls-key',
    join(work, 'tls.key'),
    '--config',
    join(work, 'policy.yaml'),
    ...extra,
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const logs: Array<Record<string, unknown>> = [];
  const serving$ = new Promise<{ webhook: string; metrics: string }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'pinwarden serving')
          resolve({ webhook: String(entry.webhook), metrics: String(entry.metrics) });
      } catch {
        // not JSON
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`serve exited (${String(code)}) before serving: ${stderr.slice(-500)}`)),
    );
  });
  const { webhook, metrics } = await serving$;
  const webhookPort = Number(new URL(webhook).port);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    work,
    ca,
    serving,
    webhookPort,
    metricsUrl: metrics,
    logs,
    stderr: () => stderr,
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    post(path, body, post = {}) {
      const started = performance.now();
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: webhookPort,
            path,
            method: 'POST',
            ca: ca.certPem,
            servername: 'localhost',
            agent: post.agent ?? false,
            ...(post.cert ? { cert: post.cert, key: post.key } : {}),
            headers: {
              'content-type': post.contentType ?? 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let json: unknown;
              try {
                json = JSON.parse(text);
              } catch {
                json = undefined;
              }
              resolve({ status: res.statusCode ?? 0, text, json, ms: performance.now() - started });
            });
          },
        );
        req.setTimeout(post.timeoutMs ?? 30_000, () => req.destroy(new Error('client timeout')));
        req.on('error', reject);
        req.end(body);
      });
    },
    healthzMs() {
      const started = performance.now();
      return new Promise((resolve) => {
        const req = httpGet(`${metrics}/healthz`, { agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(performance.now() - started));
        });
        req.setTimeout(10_000, () => req.destroy());
        req.on('error', () => resolve(Number.POSITIVE_INFINITY));
      });
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      rmSync(work, { recursive: true, force: true });
      return code;
    },
  };
}

/** An AdmissionReview (as JSON text) around an OCIRepository spec. */
export function reviewText(
  spec: Record<string, unknown>,
  uid = '7d1c2b3a-0000-4000-8000-000000000007',
  name = 'app',
): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: 'source.toolkit.fluxcd.io', version: 'v1', kind: 'OCIRepository' },
      namespace: 'apps',
      operation: 'CREATE',
      object: {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'OCIRepository',
        metadata: { name, namespace: 'apps' },
        spec: { interval: '5m', ...spec },
      },
    },
  });
}

/** A TLS client that announces a request body and then holds the connection (the slow-body attack). */
export interface SlowClient {
  socket: TLSSocket;
  opened: number;
  connected: boolean;
  status?: number;
  answer: string;
  closedAfterMs?: number;
}

/**
 * Opens a TLS connection to the webhook port; unless `idle`, writes the headers of a `/validate` POST that
 * announces `declaredBytes` and the first bytes of its body, then sends nothing more. Resolves once connected
 * (or closed); `closedAfterMs` and `status` fill in as the server acts.
 */
export function openSlowClient(serve: ServeProcess, declaredBytes: number, idle = false): Promise<SlowClient> {
  return new Promise((resolve) => {
    const opened = performance.now();
    const slow: SlowClient = { socket: undefined as unknown as TLSSocket, opened, connected: false, answer: '' };
    const socket = connect(
      { host: '127.0.0.1', port: serve.webhookPort, ca: serve.ca.certPem, servername: 'localhost' },
      () => {
        slow.connected = true;
        if (!idle)
          socket.write(
            `POST /validate?timeout=10s HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${declaredBytes}\r\n\r\n{"apiVersion":`,
          );
        resolve(slow);
      },
    );
    slow.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      slow.answer += chunk;
      slow.status ??= Number(/^HTTP\/1\.1 (\d+)/.exec(slow.answer)?.[1] ?? 0) || undefined;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      slow.closedAfterMs = performance.now() - opened;
      resolve(slow);
    });
  });
}

/** Probes `/healthz` every 20 ms while `work` runs; returns its result, every probe latency and how long it took. */
export async function probeHealthzWhile<T>(
  serve: ServeProcess,
  work: () => Promise<T>,
  settleMs = 0,
): Promise<{ result: T; latencies: number[]; workMs: number }> {
  let done = false;
  const latencies: number[] = [];
  const probing = (async () => {
    while (!done) {
      latencies.push(await serve.healthzMs());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
  const started = performance.now();
  try {
    const result = await work();
    return { result, latencies, workMs: performance.now() - started };
  } finally {
    done = true;
    await probing;
  }
}
