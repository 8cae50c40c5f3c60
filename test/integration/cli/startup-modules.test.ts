// A cold command loads what it runs, not the whole product (BENCHMARKS.md, `pinwarden pull`: start-up is module
// loading). The built CLI runs with a module hook (NODE_OPTIONS=--import) that writes every module URL the
// loader loads, plus Node's internal modules (process.moduleLoadList), to a file at exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packArtifact, pushArtifact } from '../../../src/artifact/index.ts';
import { HttpRepository } from '../../../src/oci/index.ts';
import { runBuiltCli } from '../../helpers/cli.ts';
import { startRegistry } from '../../helpers/registry.ts';
import { pemOfPublicKey } from '../../helpers/sigstore-fixtures.ts';
import { attachBundle, dsseBundle } from '../../helpers/sigstore-fixtures-sign.ts';

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

test('pinwarden pull --help loads neither the policy loader, the admission flow, Sigstore, nor any server package', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'pinwarden-startup-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const { modules, code } = await modulesOf(['pull', '--help'], cwd);
  assert.equal(code, 0);
  const used = packages(modules);
  // What pull runs is there (so the hook saw the loads at all) ...
  assert.ok(used.has('commander'), 'commander not loaded');
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
    // sigstore-js and tar-stream are required when a signature is verified and a layer extracted, not on import
    // (signature/sigstore.ts, artifact/tar.ts).
    'tar-stream',
    '@sigstore/verify',
    '@sigstore/core',
    '@sigstore/bundle',
    '@sigstore/protobuf-specs',
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

test('a key-based pinwarden pull and verify load no automata library (refa) and no packing code', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'pinwarden-startup-'));
  const registry = await startRegistry({ mode: 'plain' });
  t.after(async () => {
    await registry.stop();
    rmSync(cwd, { recursive: true, force: true });
  });
  const call = () => ({ signal: AbortSignal.timeout(30_000) });
  const repository = new HttpRepository(
    { registry: registry.host, host: registry.host, path: 'acme/app' },
    { insecure: true },
  );
  mkdirSync(join(cwd, 'source'));
  writeFileSync(join(cwd, 'source', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n');
  const artifact = await packArtifact({
    path: join(cwd, 'source'),
    source: 'https://github.com/acme/app',
    revision: `main@sha1:${'a'.repeat(40)}`,
    reproducible: true,
  });
  const manifest = await pushArtifact(repository, artifact, 'v1', call());
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(cwd, 'cosign.pub'), pemOfPublicKey(keys.publicKey));
  await attachBundle(repository, manifest, dsseBundle(keys, manifest.digest));
  repository.close();
  const ref = `oci://${registry.host}/acme/app@${manifest.digest}`;

  for (const args of [
    ['pull', ref, '-o', 'out', '--key', 'cosign.pub', '--insecure'],
    ['verify', ref, '--key', 'cosign.pub', '--insecure'],
  ]) {
    const { modules, code } = await modulesOf(args, cwd);
    assert.equal(code, 0, `${args[0]} failed`);
    const used = packages(modules);
    // The run verified (Sigstore loaded) and read Go patterns' engine in the same process ...
    for (const name of ['@sigstore/verify', 're2js']) assert.ok(used.has(name), `${args[0]}: ${name} not loaded`);
    // tar-stream only where a layer is extracted.
    assert.equal(used.has('tar-stream'), args[0] === 'pull', `${args[0]}: tar-stream`);
    // ... and never loaded what only the inclusion proofs (check, the webhook) need.
    assert.ok(!used.has('refa'), `${args[0]} loaded refa`);
    // Nor the packing half of the artifact room (its ignore-file matcher).
    assert.ok(!used.has('ignore'), `${args[0]} loaded ignore`);
    assert.ok(!ours(modules, 'core/identity/index.js'), `${args[0]} loaded dist/core/identity/index.js`);
  }
  assert.equal(readFileSync(join(cwd, 'out', 'cm.yaml'), 'utf8').includes('ConfigMap'), true);
});
