// Runs the real helm (v4, built from Go modules by scripts/helm-assets.ts) on the chart in deploy/helm/pinwarden.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../helpers/cli.ts';
import { ensureHelm } from '../../../scripts/helm-assets.ts';

export const CHART_DIR = join(REPO_ROOT, 'deploy', 'helm', 'pinwarden');
/** NetworkPolicy is on by default and needs the apiserver's address; the tests' stand-in. */
export const APISERVER_CIDR = '10.96.0.1/32';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Spawns a command with a deadline; never throws on a non-zero exit (callers assert on it). */
export function run(command: string, args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number; stdin?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

export function helm(args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> {
  return run(ensureHelm(), args, options);
}

/** Writes values to a temporary file (helm reads JSON as YAML) and returns the --values flag pair. */
export function withValues<T>(values: Record<string, unknown>, use: (flags: string[]) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-values-'));
  const file = join(dir, 'values.json');
  writeFileSync(file, JSON.stringify(values));
  return use(['--values', file]).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** Values every test starts from: the NetworkPolicy's required apiserver CIDR. */
export function baseValues(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return deepMerge({ networkPolicy: { webhook: { apiserverCIDRs: [APISERVER_CIDR] } } }, extra);
}

export function deepMerge(left: Record<string, unknown>, right: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...left };
  for (const [key, value] of Object.entries(right)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as unknown)
    .filter((obj): obj is K8sObject => isPlainObject(obj) && typeof obj.kind === 'string');
}

export async function template(values: Record<string, unknown>, namespace = 'pinwarden-system', release = 'pw'): Promise<K8sObject[]> {
  const result = await withValues(values, (flags) => helm(['template', release, CHART_DIR, '--namespace', namespace, ...flags]));
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr}`);
  return parseObjects(result.stdout);
}

export function only(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((obj) => obj.kind === kind && (name === undefined || obj.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as K8sObject;
}

export function kinds(objects: K8sObject[]): string[] {
  return objects.map((obj) => `${obj.kind}/${obj.metadata.name}${obj.metadata.namespace ? `@${obj.metadata.namespace}` : ''}`).sort();
}
