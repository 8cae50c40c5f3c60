// Runs the pinwarden image built from the repository's Dockerfile (scripts/image-assets.ts) with buildah: no
// Docker engine exists here, and `buildah run --isolation chroot` runs an image's rootfs on the host network.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:https';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { buildahGlobalArgs, ensureAppImage } from '../../../scripts/image-assets.ts';
import { run, type Run } from './helm.ts';

/** The image tag for this tree (built once per content; the first caller builds it). */
export function appImage(): string {
  return ensureAppImage();
}

export function buildah(args: readonly string[], timeoutMs = 300_000): Promise<Run> {
  return run('buildah', [...buildahGlobalArgs(), ...args], { timeoutMs });
}

export async function buildahOk(args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await buildah(args, timeoutMs);
  if (result.code !== 0) throw new Error(`buildah ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout.trim();
}

/** A working container of the image; removed by dispose(). */
export async function workingContainer(image: string): Promise<{ name: string; dispose(): Promise<void> }> {
  const name = `pinwarden-test-${randomBytes(5).toString('hex')}`;
  await buildahOk(['from', '--name', name, '--pull-never', image]);
  return { name, dispose: async () => void (await buildah(['rm', name])) };
}

/** Mounts an image's rootfs read-only for inspection (vfs: a plain directory). */
export async function withMountedImage<T>(image: string, use: (root: string) => Promise<T> | T): Promise<T> {
  const container = await workingContainer(image);
  try {
    const root = await buildahOk(['mount', container.name]);
    try {
      return await use(root);
    } finally {
      await buildah(['umount', container.name]);
    }
  } finally {
    await container.dispose();
  }
}

export interface RunningServe {
  port: number;
  metricsPort: number;
  /** Pid of the `pinwarden serve` process inside the container (a host pid: chroot isolation shares the pid namespace). */
  pid: number;
  container: string;
  output(): string;
  /** Stops serve; the working container is removed too unless `keepContainer` (then call removeContainer). */
  stop(options?: { keepContainer?: boolean }): Promise<void>;
  removeContainer(): Promise<void>;
}

export interface ServeOptions {
  port: number;
  metricsPort: number;
  /** Host directory with tls.crt and tls.key, mounted at /etc/pinwarden/tls. */
  tlsDir: string;
  /** Host directory with policy.yaml, mounted at /etc/pinwarden/policy. */
  policyDir: string;
  extraArgs?: string[];
  /** More `host:container[:ro]` volumes (e.g. a kubeconfig). */
  extraVolumes?: string[];
}

/** `pinwarden serve` from the image, as the Helm chart runs it (same paths, a tmpfs /tmp), as the image's user. */
export async function startServe(image: string, options: ServeOptions): Promise<RunningServe> {
  const container = await workingContainer(image);
  const args = [
    ...buildahGlobalArgs(), 'run', '--isolation', 'chroot',
    '--mount', 'type=tmpfs,destination=/tmp',
    '--volume', `${options.tlsDir}:/etc/pinwarden/tls:ro`,
    '--volume', `${options.policyDir}:/etc/pinwarden/policy:ro`,
    ...(options.extraVolumes ?? []).flatMap((volume) => ['--volume', volume]),
    container.name, '--',
    'pinwarden', 'serve',
    `--port=${options.port}`, `--metrics-port=${options.metricsPort}`, '--host=127.0.0.1',
    '--tls-cert=/etc/pinwarden/tls/tls.crt', '--tls-key=/etc/pinwarden/tls/tls.key',
    '--config=/etc/pinwarden/policy/policy.yaml',
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn('buildah', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-20_000)));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (stopOptions: { keepContainer?: boolean } = {}): Promise<void> => {
    const pid = servePid(options.metricsPort);
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (stopOptions.keepContainer !== true) await container.dispose();
  };
  try {
    await waitReady(options.metricsPort, () => child.exitCode !== null, 60_000);
  } catch (error) {
    await stop();
    throw new Error(`pinwarden serve from ${image} did not become ready: ${(error as Error).message}\n${output}`);
  }
  const pid = servePid(options.metricsPort);
  if (pid === undefined) {
    await stop();
    throw new Error(`no pinwarden serve process found for --metrics-port=${options.metricsPort}`);
  }
  return { port: options.port, metricsPort: options.metricsPort, pid, container: container.name, output: () => output, stop, removeContainer: () => container.dispose() };
}

/** The host pid of the serve process: the one whose command line carries this metrics port. */
function servePid(metricsPort: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(join('/proc', entry, 'cmdline'), 'utf8');
    } catch {
      continue;
    }
    const argv = cmdline.split('\0');
    if (argv.includes('serve') && argv.includes(`--metrics-port=${metricsPort}`) && !argv[0]?.endsWith('buildah')) return Number(entry);
  }
  return undefined;
}

export function uidOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^Uid:\s+(\d+)/m.exec(status);
  if (!match) throw new Error(`no Uid in /proc/${pid}/status`);
  return Number(match[1]);
}

async function waitReady(metricsPort: number, gone: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone()) throw new Error('the container exited');
    const status = await new Promise<number>((resolve) => {
      const req = httpGet({ host: '127.0.0.1', port: metricsPort, path: '/readyz', timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(0));
    });
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`/readyz not 200 within ${timeoutMs} ms (last: ${status})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** POSTs an AdmissionReview over HTTPS, trusting only `caPem`. */
export function postReview(port: number, path: string, caPem: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path: `${path}?timeout=10s`, method: 'POST', ca: caPem, servername: 'localhost', timeout: 15_000, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
        } catch {
          reject(new Error(`not JSON (${res.statusCode}): ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Apparent size in bytes of a directory tree (du -sb). */
export function treeBytes(path: string): number {
  const result = spawnSync('du', ['-sb', path], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`du failed: ${result.stderr}`);
  return Number(result.stdout.split('\t')[0]);
}
