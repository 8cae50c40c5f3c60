/**
 * A real Kubernetes control plane for tests (issue #8): etcd + kube-apiserver built from Go modules
 * (scripts/kube-assets.ts), on loopback with random ports, in a temporary directory.
 *
 * Secure serving with its own CA, an admin client certificate (O=system:masters), service-account
 * signing keys, `--authorization-mode=RBAC`, and the Flux CRDs installed and Established.
 * One control plane per test file:
 *
 *   const cp = await startControlPlane();
 *   after(() => cp.stop());
 *   await cp.kubectl(['apply', '-f', '-'], { input: yaml });
 *
 * `stop()` kills both processes by PID and removes the directory; a process `exit` hook does the same
 * when a test file dies before `after()` runs. See README.md for what does not exist without
 * kube-controller-manager and a kubelet.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { findKubeAssets } from '../../scripts/kube-assets.ts';
import type { KubeAssets } from '../../scripts/kube-assets.ts';
import { createTestCa } from '../helpers/certs.ts';
import type { KeyPairPem, TestCa } from '../helpers/certs.ts';
import { FLUX_CRDS } from '../helpers/flux-data.ts';

export { KUBE_VERSION, ETCD_VERSION } from '../../scripts/kube-assets.ts';

/** Which copy of the Flux source CRDs to install: today's (v1 only) or source-controller v1.7.4's (v1 + v1beta2). */
export type FluxCrdSet = 'current' | 'with-v1beta2' | 'none';

export interface StartControlPlaneOptions {
  fluxCrds?: FluxCrdSet;
  /** Extra kube-apiserver flags, e.g. `--admission-control-config-file=…`. */
  apiserverArgs?: string[];
  /** Give up on start-up after this long (default 120 s: generous for a loaded machine; ~5 s idle). */
  startTimeoutMs?: number;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  input?: string;
  /** Another kubeconfig (a ServiceAccount's); default the admin's. */
  kubeconfig?: string;
  timeoutMs?: number;
}

export interface ControlPlane {
  /** `https://127.0.0.1:PORT` */
  url: string;
  dir: string;
  assets: KubeAssets;
  /** CA that signed the apiserver's serving certificate and the client certificates it accepts. */
  ca: TestCa;
  admin: KeyPairPem;
  /** Path of the admin kubeconfig (client certificate, user `admin` in `system:masters`). */
  adminKubeconfig: string;
  etcdUrl: string;
  pids: { etcd: number; apiserver: number };
  /** Milliseconds from spawning etcd to /readyz (and CRDs Established). */
  startupMs: number;
  kubectl(args: string[], options?: KubectlOptions): Promise<KubectlResult>;
  /** kubectl that throws with its stderr unless it exits 0; returns stdout. */
  kubectlOk(args: string[], options?: KubectlOptions): Promise<string>;
  /** A @kubernetes/client-node KubeConfig for the admin (or another kubeconfig file). */
  kubeConfig(path?: string): KubeConfig;
  /** Creates the ServiceAccount if needed, gets a token from the TokenRequest API, writes a kubeconfig. */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /** A client certificate for any user and groups, signed by the apiserver's client CA. */
  clientCertificate(user: string, groups?: string[]): Promise<KeyPairPem>;
  /** The raw value etcd holds for a key (its v3 JSON gateway), e.g. `/registry/<group>/<resource>/<ns>/<name>`. */
  etcdGet(key: string): Promise<string | undefined>;
  /** Whatever the processes wrote, for assertion messages. */
  logs(): { etcd: string; apiserver: string };
  stop(): Promise<void>;
}

const CRD_FILES: Record<Exclude<FluxCrdSet, 'none'>, string[]> = {
  current: [
    'source.toolkit.fluxcd.io_ocirepositories.yaml',
    'source.toolkit.fluxcd.io_buckets.yaml',
    'kustomize.toolkit.fluxcd.io_kustomizations.yaml',
  ],
  'with-v1beta2': [
    'source.toolkit.fluxcd.io_ocirepositories.v1.7.4-with-v1beta2.yaml',
    'source.toolkit.fluxcd.io_buckets.v1.7.4-with-v1beta2.yaml',
    'kustomize.toolkit.fluxcd.io_kustomizations.yaml',
  ],
};

/** Throws the one-line instruction when the binaries are missing (never a skip). */
export function requireKubeAssets(): KubeAssets {
  const found = findKubeAssets();
  if ('error' in found) throw new Error(found.error);
  return found;
}

export async function startControlPlane(options: StartControlPlaneOptions = {}): Promise<ControlPlane> {
  const assets = requireKubeAssets();
  const started = Date.now();
  const deadline = started + (options.startTimeoutMs ?? 120_000);
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-cp-'));
  const children: ChildProcess[] = [];
  const onExit = (): void => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  const stopAll = async (): Promise<void> => {
    process.off('exit', onExit);
    await Promise.all(
      children
        .slice()
        .reverse()
        .map((child) => stopChild(child)),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pki = await writePki(dir);
    const [etcdClient, etcdPeer, securePort] = await freePorts(3);
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcdLog = join(dir, 'etcd.log');
    const etcd = spawnLogged(
      assets.etcd,
      [
        '--name=default',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
        '--quota-backend-bytes=2147483648',
      ],
      etcdLog,
    );
    children.push(etcd);
    const url = `https://127.0.0.1:${securePort}`;
    const apiserverLog = join(dir, 'kube-apiserver.log');
    const apiserver = spawnLogged(
      assets.kubeApiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        `--secure-port=${securePort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--cert-dir=${join(dir, 'apiserver-certs')}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--service-account-issuer=${url}/`,
        `--service-account-key-file=${pki.saPublic}`,
        `--service-account-signing-key-file=${pki.saPrivate}`,
        '--authorization-mode=RBAC',
        '--service-cluster-ip-range=10.0.0.0/24',
        // No ServiceAccount controller here, so no `default` ServiceAccount: envtest disables the plugin too.
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        // The `kubernetes` Service's Endpoints may not hold a loopback address.
        '--endpoint-reconciler-type=none',
        '--v=0',
        ...(options.apiserverArgs ?? []),
      ],
      apiserverLog,
    );
    children.push(apiserver);
    const adminKubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(
      adminKubeconfig,
      kubeconfigYaml(url, pki.ca.certPem, { certPem: pki.admin.certPem, keyPem: pki.admin.keyPem }),
      { mode: 0o600 },
    );
    const readLog = (path: string): string => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return '';
      }
    };
    const logs = (): { etcd: string; apiserver: string } => ({
      etcd: readLog(etcdLog),
      apiserver: readLog(apiserverLog),
    });
    await waitReady(url, pki.ca.certPem, pki.admin, deadline, [etcd, apiserver], logs);
    const kubectl = (args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> =>
      runKubectl(assets.kubectl, opts.kubeconfig ?? adminKubeconfig, args, opts, dir);
    const kubectlOk = async (args: string[], opts: KubectlOptions = {}): Promise<string> => {
      const result = await kubectl(args, opts);
      if (result.code !== 0)
        throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
      return result.stdout;
    };
    const crdSet = options.fluxCrds ?? 'current';
    if (crdSet !== 'none') {
      const files = CRD_FILES[crdSet].map((name) => ['-f', join(FLUX_CRDS, name)]).flat();
      await kubectlOk(['apply', '--server-side', '--field-manager=pinwarden-test', ...files]);
      const left = Math.max(5, Math.ceil((deadline - Date.now()) / 1000));
      await kubectlOk([
        'wait',
        '--for=condition=Established',
        '--timeout',
        `${left}s`,
        'crd/ocirepositories.source.toolkit.fluxcd.io',
        'crd/buckets.source.toolkit.fluxcd.io',
        'crd/kustomizations.kustomize.toolkit.fluxcd.io',
      ]);
    }
    let saCount = 0;
    return {
      url,
      dir,
      assets,
      ca: pki.ca,
      admin: pki.admin,
      adminKubeconfig,
      etcdUrl,
      pids: { etcd: etcd.pid!, apiserver: apiserver.pid! },
      startupMs: Date.now() - started,
      kubectl,
      kubectlOk,
      logs,
      async etcdGet(key) {
        const response = await fetch(`${etcdUrl}/v3/kv/range`, {
          method: 'POST',
          body: JSON.stringify({ key: Buffer.from(key).toString('base64') }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await response.json()) as { kvs?: Array<{ value: string }> };
        const value = body.kvs?.[0]?.value;
        return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
      },
      kubeConfig(path = adminKubeconfig) {
        const config = new KubeConfig();
        config.loadFromFile(path);
        return config;
      },
      async serviceAccountKubeconfig(namespace, name) {
        const exists = await kubectl(['get', 'serviceaccount', '-n', namespace, name]);
        if (exists.code !== 0) await kubectlOk(['create', 'serviceaccount', '-n', namespace, name]);
        const token = (await kubectlOk(['create', 'token', '-n', namespace, name, '--duration=1h'])).trim();
        const path = join(dir, `sa-${++saCount}-${namespace}-${name}.kubeconfig`);
        writeFileSync(path, kubeconfigYaml(url, pki.ca.certPem, { token }), { mode: 0o600 });
        return path;
      },
      clientCertificate(user, groups = []) {
        return pki.ca.issue({ commonName: user, usage: 'client', organizations: groups });
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

interface Pki {
  ca: TestCa;
  admin: KeyPairPem;
  caCert: string;
  servingCert: string;
  servingKey: string;
  saPublic: string;
  saPrivate: string;
}

async function writePki(dir: string): Promise<Pki> {
  const ca = await createTestCa('pinwarden control plane CA');
  const serving = await ca.issue({
    commonName: 'kube-apiserver',
    usage: 'server',
    ips: ['127.0.0.1'],
    dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
  });
  const admin = await ca.issue({ commonName: 'admin', usage: 'client', organizations: ['system:masters'] });
  const sa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const files = {
    caCert: ['ca.crt', ca.certPem],
    servingCert: ['apiserver.crt', serving.certPem],
    servingKey: ['apiserver.key', serving.keyPem],
    saPublic: ['sa.pub', sa.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    saPrivate: ['sa.key', sa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
  } as const;
  const paths = Object.fromEntries(
    Object.entries(files).map(([key, [name, content]]) => {
      const path = join(dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return [key, path];
    }),
  ) as Record<keyof typeof files, string>;
  return { ca, admin, ...paths };
}

export function kubeconfigYaml(
  server: string,
  caPem: string,
  user: { certPem: string; keyPem: string } | { token: string },
): string {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  const credentials =
    'token' in user
      ? [`    token: ${user.token}`]
      : [`    client-certificate-data: ${b64(user.certPem)}`, `    client-key-data: ${b64(user.keyPem)}`];
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: pinwarden',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caPem)}`,
    'users:',
    '- name: user',
    '  user:',
    ...credentials,
    'contexts:',
    '- name: pinwarden',
    '  context:',
    '    cluster: pinwarden',
    '    user: user',
    '    namespace: default',
    'current-context: pinwarden',
    '',
  ].join('\n');
}

function spawnLogged(binary: string, args: string[], logPath: string): ChildProcess {
  const fd = openSync(logPath, 'a');
  try {
    const env = {
      ...process.env,
      HTTPS_PROXY: '',
      HTTP_PROXY: '',
      https_proxy: '',
      http_proxy: '',
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    };
    const child = spawn(binary, args, { stdio: ['ignore', fd, fd], env });
    child.on('error', () => undefined);
    return child;
  } finally {
    closeSync(fd);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

async function waitReady(
  url: string,
  caPem: string,
  admin: KeyPairPem,
  deadline: number,
  children: ChildProcess[],
  logs: () => { etcd: string; apiserver: string },
): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    const dead = children.find((child) => child.exitCode !== null || child.signalCode !== null);
    if (dead) {
      const { etcd, apiserver } = logs();
      throw new Error(
        `control plane process ${dead.spawnfile} exited (${dead.exitCode ?? dead.signalCode}) during start-up:\n${tail(dead.spawnfile.endsWith('etcd') ? etcd : apiserver)}`,
      );
    }
    last = await get(`${url}/readyz`, caPem, admin).then(
      ({ status, body }) => (status === 200 ? '' : `${status} ${body}`),
      (error: Error) => error.message,
    );
    if (last === '') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `kube-apiserver not ready at ${url}/readyz before the deadline (${last}):\n${tail(logs().apiserver)}`,
  );
}

function tail(text: string): string {
  return text.split('\n').slice(-25).join('\n');
}

/** An HTTPS GET with the admin client certificate and a 2 s deadline. */
export function get(
  url: string,
  caPem: string,
  client: { certPem: string; keyPem: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: caPem, cert: client.certPem, key: client.keyPem, timeout: 2_000 }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (chunk: string) => (body += chunk))
        .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function runKubectl(
  binary: string,
  kubeconfig: string,
  args: string[],
  options: KubectlOptions,
  home: string,
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      env: { ...process.env, KUBECONFIG: kubeconfig, HOME: home, KUBECACHEDIR: join(home, 'kube-cache') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
