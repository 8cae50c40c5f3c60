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

function run(args: string[]): {
  child: ReturnType<typeof spawn>;
  exited: Promise<{ code: number | null; stderr: string }>;
} {
  const child = spawn(process.execPath, [MAIN, 'serve', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr })),
  );
  return { child, exited };
}

function status(url: string): Promise<number> {
  return new Promise((resolve, reject) =>
    get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject),
  );
}

test('starts on free ports, is ready, and drains on SIGTERM with exit 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-serve-cli-'));
  try {
    execFileSync('sh', [join(REPO_ROOT, 'certs', 'make-dev-certs.sh'), dir], { stdio: 'ignore' });
    const { child, exited } = run([
      '--port',
      '0',
      '--metrics-port',
      '0',
      '--host',
      '127.0.0.1',
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
      '--config',
      'examples/policy.yaml',
    ]);
    const lines: string[] = [];
    const serving = new Promise<{ metrics?: string }>((resolve) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(line);
        const entry = JSON.parse(line) as { msg?: string; metrics?: string };
        if (entry.msg === 'pinwarden serving') resolve(entry);
      });
    });
    const metricsUrl = (await serving).metrics ?? '';
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await status(`${metricsUrl}/readyz`), 200);
    child.kill('SIGTERM');
    const { code, stderr } = await exited;
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '', 'nothing but JSON log lines, all on stdout');
    const entries = lines.map(
      (line) => JSON.parse(line) as { msg?: string; signal?: string; name?: string; level?: number },
    );
    assert.ok(
      entries.every((entry) => entry.name === 'pinwarden' && typeof entry.level === 'number'),
      'every line is a pino JSON line',
    );
    assert.deepEqual(
      entries.slice(-2).map((entry) => [entry.msg, entry.signal]),
      [
        ['shutting down', 'SIGTERM'],
        ['stopped', 'SIGTERM'],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad port is a usage error (exit 2)', async () => {
  const { exited } = run(['--port', 'eighty']);
  assert.equal((await exited).code, 2);
});

test('--policy-source takes file or cluster; cluster with --config, or a bad --audit-interval, is a usage/input error (exit 2)', async () => {
  const bad = await run(['--policy-source', 'configmap']).exited;
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--policy-source/);
  const both = await run([
    '--policy-source',
    'cluster',
    '--config',
    'examples/policy.yaml',
    '--port',
    '0',
    '--metrics-port',
    '0',
    '--host',
    '127.0.0.1',
  ]).exited;
  assert.equal(both.code, 2);
  assert.match(
    both.stderr,
    /--config and --policy-source=cluster exclude each other: the policy comes from the SourcePolicy objects \[PW_USAGE\]/,
  );
  const interval = await run(['--audit-interval', 'often', '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1'])
    .exited;
  assert.equal(interval.code, 2);
  assert.match(interval.stderr, /--audit-interval takes a Go duration/);
  const lease = await run(['--audit-interval', '1m', '--audit-lease-name', 'Not_A/Name']).exited;
  assert.equal(lease.code, 2);
  assert.match(lease.stderr, /--audit-lease-name.*must be a Lease name/);
});

test('--policy-source=cluster without a reachable apiserver does not serve: exit 1 naming the CRDs and RBAC (PW_KUBE_API)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-serve-cli-'));
  try {
    writeFileSync(
      join(dir, 'kubeconfig'),
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'serve',
        '--policy-source',
        'cluster',
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--port',
        '0',
        '--metrics-port',
        '0',
        '--host',
        '127.0.0.1',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 1, output);
    assert.match(
      output,
      /SourcePolicy and SourcePolicyException objects not listed within .* \(are the CRDs of deploy\/crds installed, and may pinwarden list and watch them\?\)/,
    );
    assert.doesNotMatch(output, /pinwarden serving/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unusable certificate pair exits 2 with PW_INPUT_INVALID', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-serve-cli-'));
  try {
    writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
    writeFileSync(join(dir, 'tls.key'), 'not a key');
    const { exited } = run([
      '--port',
      '0',
      '--metrics-port',
      '0',
      '--host',
      '127.0.0.1',
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
    ]);
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
    writeFileSync(
      join(dir, 'policy.yaml'),
      'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: x}\nspec: {mode: sometimes}\n',
    );
    const { exited } = run(['--port', '0', '--metrics-port', '0', '--config', join(dir, 'policy.yaml')]);
    const { code, stderr } = await exited;
    assert.equal(code, 2);
    assert.match(stderr, /PW_POLICY_INVALID/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The "pinwarden serving" entry; the rest of stdout keeps being read (closing it would break the child's later log lines). */
function servingLine(child: ReturnType<typeof spawn>): Promise<{ webhook?: string; metrics?: string }> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      const entry = JSON.parse(line) as { msg?: string; webhook?: string; metrics?: string };
      if (entry.msg === 'pinwarden serving') resolve(entry);
    });
    lines.on('close', () => reject(new Error('the server never logged "pinwarden serving"')));
  });
}

function refused(url: string): Promise<boolean> {
  return status(url).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED',
  );
}

test('the documented default bind address is 0.0.0.0 (every interface), and --host changes it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-serve-cli-'));
  try {
    execFileSync('sh', [join(REPO_ROOT, 'certs', 'make-dev-certs.sh'), dir], { stdio: 'ignore' });
    const { child, exited } = run([
      '--port',
      '0',
      '--metrics-port',
      '0',
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
    ]);
    const entry = await servingLine(child);
    assert.match(entry.webhook ?? '', /^https:\/\/0\.0\.0\.0:\d+$/);
    assert.match(entry.metrics ?? '', /^http:\/\/0\.0\.0\.0:\d+$/);
    child.kill('SIGTERM');
    assert.equal((await exited).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("npm start runs the server as npm's own child: SIGTERM to npm stops it (no orphan)", async () => {
  // Its own process group, so a failing run can still clean up an orphaned server (it keeps the group).
  const npm = spawn('npm', ['start', '--silent', '--', '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const npmExited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
  try {
    const entry = await servingLine(npm);
    const metricsUrl = entry.metrics ?? '';
    assert.equal(await status(`${metricsUrl}/healthz`), 200);
    npm.kill('SIGTERM');
    await npmExited;
    // The server got the signal (not only npm): its port is closed once npm is gone, within a generous bound.
    let closed = false;
    for (let attempt = 0; attempt < 50 && !closed; attempt += 1) {
      closed = await refused(`${metricsUrl}/healthz`);
      if (!closed) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(closed, `${metricsUrl} still answers after npm exited: the server was orphaned`);
  } finally {
    try {
      process.kill(-npm.pid!, 'SIGKILL');
    } catch {
      // the group is gone: nothing was left behind
    }
  }
});
