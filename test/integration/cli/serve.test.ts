// `pinwarden serve` as a process: starts, answers, becomes ready, and exits 0 on SIGTERM after draining;
// bad flags and unusable certificates exit 2 with the catalogued code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../../helpers/cli.ts';

const MAIN = join(REPO_ROOT, 'src', 'main.ts');

function run(args: string[]): { child: ReturnType<typeof spawn>; exited: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [MAIN, 'serve', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  return { child, exited };
}

function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => get(url, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject));
}

test('starts on free ports, is ready, and drains on SIGTERM with exit 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-serve-cli-'));
  try {
    execFileSync('sh', [join(REPO_ROOT, 'certs', 'make-dev-certs.sh'), dir], { stdio: 'ignore' });
    const { child, exited } = run(['--port', '0', '--metrics-port', '0', '--host', '127.0.0.1', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--config', 'examples/policy.yaml']);
    let metricsUrl = '';
    for await (const line of createInterface({ input: child.stdout! })) {
      const entry = JSON.parse(line) as { msg?: string; metrics?: string };
      if (entry.msg === 'pinwarden serving') {
        metricsUrl = entry.metrics ?? '';
        break;
      }
    }
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await status(`${metricsUrl}/readyz`), 200);
    child.kill('SIGTERM');
    const { code, stderr } = await exited;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGTERM: shutting down/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad port is a usage error (exit 2)', async () => {
  const { exited } = run(['--port', 'eighty']);
  assert.equal((await exited).code, 2);
});

test('an unusable certificate pair exits 2 with PW_INPUT_INVALID', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-serve-cli-'));
  try {
    writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
    writeFileSync(join(dir, 'tls.key'), 'not a key');
    const { exited } = run(['--port', '0', '--metrics-port', '0', '--host', '127.0.0.1', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key')]);
    const { code, stderr } = await exited;
    assert.equal(code, 2);
    assert.match(stderr, /PW_INPUT_INVALID/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an invalid policy file exits 2 with PW_POLICY_INVALID', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-serve-cli-'));
  try {
    writeFileSync(join(dir, 'policy.yaml'), 'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: x}\nspec: {mode: sometimes}\n');
    const { exited } = run(['--port', '0', '--metrics-port', '0', '--config', join(dir, 'policy.yaml')]);
    const { code, stderr } = await exited;
    assert.equal(code, 2);
    assert.match(stderr, /PW_POLICY_INVALID/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
