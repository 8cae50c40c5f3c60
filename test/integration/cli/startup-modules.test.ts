// A cold command loads what it runs, not the whole product (BENCHMARKS.md, `pinwarden pull`: start-up is module
// loading). The built CLI runs with a module hook (NODE_OPTIONS=--import) that writes every module URL the
// loader loads, plus Node's internal modules (process.moduleLoadList), to a file at exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runBuiltCli } from '../../helpers/cli.ts';

const HOOK = `
import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
const out = process.env.PINWARDEN_TEST_MODULES;
const loaded = [];
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
process.on('exit', () => appendFileSync(out, [...loaded, ...process.moduleLoadList].join('\\n') + '\\n'));
`;

async function modulesOf(args: string[], cwd: string): Promise<{ modules: string[]; code: number | null }> {
  const hook = join(cwd, 'hook.mjs');
  writeFileSync(hook, HOOK);
  const out = join(cwd, `modules-${args[0]}.txt`);
  const run = await runBuiltCli(args, {
    cwd,
    env: { NODE_OPTIONS: `--import=${pathToFileURL(hook).href}`, PINWARDEN_TEST_MODULES: out },
  });
  return { modules: readFileSync(out, 'utf8').split('\n').filter(Boolean), code: run.code };
}

const packageOf = (url: string): string | undefined => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
const packages = (modules: string[]) => new Set(modules.map(packageOf).filter((name) => name !== undefined));
const ours = (modules: string[], file: string) => modules.some((url) => url.endsWith(`/dist/${file}`));

test('pinwarden pull --help loads neither the policy loader, the admission flow, nor any server package', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'pinwarden-startup-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const { modules, code } = await modulesOf(['pull', '--help'], cwd);
  assert.equal(code, 0);
  const used = packages(modules);
  // What pull runs is there (so the hook saw the loads at all) ...
  for (const name of ['commander', '@sigstore/verify', 'tar-stream']) assert.ok(used.has(name), `${name} not loaded`);
  assert.ok(ours(modules, 'flows/pull/pull.js'));
  // ... and what it never runs is not.
  for (const name of [
    'ajv',
    'yaml',
    'semver',
    'fastify',
    '@kubernetes/client-node',
    'pino',
    'prom-client',
    '@sigstore/tuf',
  ])
    assert.ok(!used.has(name), `pull --help loaded ${name}`);
  for (const file of ['flows/admit.js', 'flows/resolve.js', 'core/policy/load-policy.js', 'core/evaluate.js'])
    assert.ok(!ours(modules, file), `pull --help loaded dist/${file}`);
  assert.ok(!modules.some((name) => /undici/.test(name)), "pull --help loaded Node's bundled undici");
});

test('pinwarden check loads no Sigstore, extraction, Kubernetes or server code', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'pinwarden-startup-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  writeFileSync(
    join(cwd, 'source.yaml'),
    'apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: app, namespace: apps}\n' +
      'spec:\n  interval: 5m\n  url: oci://ghcr.io/acme/app\n  ref: {digest: "sha256:' +
      'a'.repeat(64) +
      '"}\n',
  );
  const { modules, code } = await modulesOf(['check', 'source.yaml'], cwd);
  assert.notEqual(code, null);
  const used = packages(modules);
  for (const name of ['commander', 'yaml', 'ajv']) assert.ok(used.has(name), `${name} not loaded`);
  for (const name of [
    '@sigstore/verify',
    '@sigstore/core',
    'tar-stream',
    'fastify',
    '@kubernetes/client-node',
    'pino',
    'prom-client',
  ])
    assert.ok(!used.has(name), `check loaded ${name}`);
  assert.ok(!modules.some((name) => /undici/.test(name)), "check loaded Node's bundled undici");
});
