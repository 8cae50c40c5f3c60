/**
 * The real `pinwarden serve` (dist/main.js, as shipped) on loopback for control-plane tests, with a
 * serving certificate from its own CA (IP SAN 127.0.0.1) so the apiserver can call it by
 * `clientConfig.url` + `caBundle`, and the webhook configurations that point at it.
 *
 *   const pw = await startPinwarden({ policy: loopbackPolicy(registry.host), kubeconfig: cp.adminKubeconfig });
 *   await registerWebhooks(cp, pw);
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT, builtCli } from '../helpers/cli.ts';
import { createTestCa } from '../helpers/certs.ts';
import type { KeyPairPem, TestCa } from '../helpers/certs.ts';
import type { ControlPlane } from './control-plane.ts';

export interface StartPinwardenOptions {
  /** SourcePolicy YAML (written to a file and passed as --config). */
  policy?: string;
  /** kubeconfig for reading registry Secrets (the control plane's admin or a ServiceAccount's). */
  kubeconfig?: string;
  /** Reuse a CA (so a restarted pinwarden matches a registered caBundle). */
  ca?: TestCa;
  /** Fixed port (to restart on the same URL); default a free one. */
  port?: number;
  extraArgs?: string[];
  logLevel?: string;
}

export interface Pinwarden {
  /** `https://127.0.0.1:PORT` (append /mutate or /validate). */
  url: string;
  port: number;
  metricsUrl: string;
  ca: TestCa;
  serving: KeyPairPem;
  pid: number;
  dir: string;
  /** Every line written to stdout (JSON log) and stderr so far. */
  logs(): string[];
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export async function startPinwarden(options: StartPinwardenOptions = {}): Promise<Pinwarden> {
  const ca = options.ca ?? (await createTestCa('pinwarden webhook CA'));
  const serving = await ca.issue({ commonName: 'pinwarden', usage: 'server', ips: ['127.0.0.1'], dns: ['localhost'] });
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-serve-'));
  writeFileSync(join(dir, 'tls.crt'), serving.certPem);
  writeFileSync(join(dir, 'tls.key'), serving.keyPem, { mode: 0o600 });
  const args = [
    builtCli(),
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port ?? 0),
    '--metrics-port',
    '0',
    '--tls-cert',
    join(dir, 'tls.crt'),
    '--tls-key',
    join(dir, 'tls.key'),
    '--log-level',
    options.logLevel ?? 'info',
  ];
  if (options.policy !== undefined) {
    writeFileSync(join(dir, 'policy.yaml'), options.policy);
    args.push('--config', join(dir, 'policy.yaml'));
  }
  if (options.kubeconfig !== undefined) args.push('--kubeconfig', options.kubeconfig);
  args.push(...(options.extraArgs ?? []));
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUBECONFIG: options.kubeconfig ?? '' },
  });
  const lines: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  const onExit = (): void => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  const stop = async (): Promise<void> => {
    process.off('exit', onExit);
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const serving_ = await waitServing(child, lines);
    const port = Number(new URL(serving_.webhook).port);
    return {
      url: serving_.webhook.replace(/\/$/, ''),
      port,
      metricsUrl: serving_.metrics,
      ca,
      serving,
      pid: child.pid!,
      dir,
      logs: () => lines.slice(),
      metrics: () => fetchText(`${serving_.metrics}/metrics`),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function waitServing(child: ChildProcess, lines: string[]): Promise<{ webhook: string; metrics: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`pinwarden serve did not start within 30 s:\n${lines.join('\n')}`)),
      30_000,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pinwarden serve exited ${code} during start-up:\n${lines.join('\n')}`));
    });
    let found = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (found) return;
      try {
        const entry = JSON.parse(line) as { msg?: string; webhook?: string; metrics?: string };
        if (entry.msg === 'pinwarden serving' && entry.webhook && entry.metrics) {
          found = true;
          clearTimeout(timer);
          resolve({ webhook: entry.webhook, metrics: entry.metrics });
        }
      } catch {
        // not JSON: kept in the log lines
      }
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { timeout: 5_000 }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (chunk: string) => (body += chunk))
        .on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

export interface WebhookOptions {
  /** Configuration object names (they also order the apiserver's calls across configurations). */
  mutatingName?: string;
  validatingName?: string;
  mutatingFailurePolicy?: 'Ignore' | 'Fail';
  validatingFailurePolicy?: 'Ignore' | 'Fail';
  timeoutSeconds?: number;
  /** Sent as `?timeout=`-less URLs: the apiserver appends nothing itself, pinwarden reads ?timeout= when present. */
  reinvocationPolicy?: 'Never' | 'IfNeeded';
  matchConditions?: Array<{ name: string; expression: string }>;
  namespaceSelector?: Record<string, unknown>;
  /** Override the base URL (e.g. a proxy in front of pinwarden). */
  url?: string;
  caPem?: string;
  /** Extra webhook entries appended to each configuration's `webhooks`. */
}

/** The webhook configurations, as the Helm chart will install them, pointing at `pw` by URL. */
export function webhookConfigurations(
  pw: { url: string; ca: { certPem: string } },
  options: WebhookOptions = {},
): Record<string, unknown>[] {
  const base = options.url ?? pw.url;
  const caBundle = Buffer.from(options.caPem ?? pw.ca.certPem).toString('base64');
  const rules = [
    {
      apiGroups: ['source.toolkit.fluxcd.io'],
      apiVersions: ['v1', 'v1beta2'],
      operations: ['CREATE', 'UPDATE'],
      resources: ['ocirepositories', 'buckets'],
      scope: 'Namespaced',
    },
  ];
  const common = {
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    timeoutSeconds: options.timeoutSeconds ?? 10,
    rules,
    ...(options.matchConditions ? { matchConditions: options.matchConditions } : {}),
    ...(options.namespaceSelector ? { namespaceSelector: options.namespaceSelector } : {}),
  };
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: options.mutatingName ?? 'pinwarden' },
      webhooks: [
        {
          name: 'mutate.pinwarden.dev',
          clientConfig: { url: `${base}/mutate`, caBundle },
          failurePolicy: options.mutatingFailurePolicy ?? 'Ignore',
          reinvocationPolicy: options.reinvocationPolicy ?? 'IfNeeded',
          ...common,
        },
      ],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: options.validatingName ?? 'pinwarden' },
      webhooks: [
        {
          name: 'validate.pinwarden.dev',
          clientConfig: { url: `${base}/validate`, caBundle },
          failurePolicy: options.validatingFailurePolicy ?? 'Fail',
          ...common,
        },
      ],
    },
  ];
}

/** Applies the configurations and waits until the apiserver calls the webhook (its informer lags a little). */
export async function registerWebhooks(
  cp: ControlPlane,
  pw: { url: string; ca: { certPem: string } },
  options: WebhookOptions = {},
): Promise<void> {
  const list = { apiVersion: 'v1', kind: 'List', items: webhookConfigurations(pw, options) };
  await cp.kubectlOk(['apply', '--server-side', '--force-conflicts', '--field-manager=pinwarden-test', '-f', '-'], {
    input: JSON.stringify(list),
  });
}

export async function unregisterWebhooks(cp: ControlPlane, options: WebhookOptions = {}): Promise<void> {
  await cp.kubectlOk([
    'delete',
    '--ignore-not-found',
    `mutatingwebhookconfiguration/${options.mutatingName ?? 'pinwarden'}`,
    `validatingwebhookconfiguration/${options.validatingName ?? 'pinwarden'}`,
  ]);
}

/** Sum of pinwarden_webhook_requests_total over all routes and verdicts. */
export async function reviewsAnswered(pw: Pinwarden): Promise<number> {
  const text = await pw.metrics();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^pinwarden_webhook_requests_total\{[^}]*\} (\d+(?:\.\d+)?)$/.exec(line);
    if (match) total += Number(match[1]);
  }
  return total;
}

/**
 * Waits until the apiserver really calls pinwarden (its webhook informer lags the configuration write):
 * server-side dry-run creates of a probe OCIRepository in `namespace` until pinwarden's review count moves.
 */
export async function waitForWebhooks(
  cp: ControlPlane,
  pw: Pinwarden,
  namespace = 'default',
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const probe = JSON.stringify({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'webhook-probe', namespace },
    spec: { interval: '5m', url: 'oci://127.0.0.1:9/probe', ref: { tag: 'probe' } },
  });
  const before = await reviewsAnswered(pw);
  while (Date.now() < deadline) {
    await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: probe });
    if ((await reviewsAnswered(pw)) > before) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the apiserver did not call pinwarden at ${pw.url} within ${timeoutMs} ms`);
}
