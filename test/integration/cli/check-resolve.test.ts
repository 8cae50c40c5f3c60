// `check --resolve`: the webhook's admission flow offline — pin via the registry (local docker login), then
// validate in the admission phase; `-o yaml` prints the objects as they would be admitted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../../../src/cli/program.ts';
import type { CliIo } from '../../../src/cli/io.ts';
import { pushImage } from '../../helpers/push-image.ts';
import { startRegistry } from '../../helpers/registry.ts';
import type { TestRegistry } from '../../helpers/registry.ts';

let registry: TestRegistry;
let digest: string;
const work = mkdtempSync(join(tmpdir(), 'pinwarden-check-resolve-'));

before(async () => {
  registry = await startRegistry({ mode: 'basic' });
  digest = await pushImage(
    {
      host: registry.host,
      path: 'acme/app',
      insecure: true,
      credentials: { username: registry.user!.username, password: registry.user!.password },
    },
    'v1.2.0',
  );
  const auth = Buffer.from(`${registry.user!.username}:${registry.user!.password}`).toString('base64');
  writeFileSync(join(work, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
  writeFileSync(
    join(work, 'policy.yaml'),
    `apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: t}\nspec:\n  ociRepository: {allowInsecure: true, trustedKeys: ['sha256:${'ab'.repeat(32)}']}\n  registry: {timeoutSeconds: 3}\n`,
  );
  const oci = (name: string, tag: string): string =>
    `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: ${name}, namespace: apps}\nspec:\n  interval: 5m\n  url: oci://${registry.host}/acme/app\n  insecure: true\n  ref: {tag: ${tag}}\n  verify: {provider: cosign, secretRef: {name: cosign-pub}}\n`;
  writeFileSync(
    join(work, 'sources.yaml'),
    [
      oci('good', 'v1.2.0'),
      oci('missing', 'v9.9.9'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n',
    ].join('---\n'),
  );
});

after(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function check(
  args: string[],
  env: Record<string, string> = { DOCKER_CONFIG: work },
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    stdin: new PassThrough(),
    isTty: false,
    env,
    cwd: work,
  };
  const code = await runCli(['check', ...args], io);
  return { code, stdout, stderr };
}

test('-o yaml prints every object as admitted: the tag pinned to the registry digest, others untouched', async () => {
  const run = await check(['sources.yaml', '--config', 'policy.yaml', '--resolve', '--output', 'yaml']);
  assert.equal(run.code, 1, run.stderr);
  const objects = parseAllDocuments(run.stdout).map((document) => document.toJS());
  assert.equal(objects.length, 3);
  assert.equal(objects[0].spec.ref.digest, digest);
  assert.equal(objects[0].spec.ref.tag, 'v1.2.0');
  assert.equal(objects[0].metadata.annotations['pinwarden.dev/pinned-from'], 'tag:v1.2.0');
  assert.equal(objects[1].spec.ref.digest, undefined);
  assert.deepEqual(objects[2], { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } });
  assert.match(run.stderr, /digest-required/);
});

test('a registry failure is digest-required with its cause (json)', async () => {
  const run = await check(['sources.yaml', '--config', 'policy.yaml', '--resolve', '--output', 'json']);
  assert.equal(run.code, 1);
  const report = JSON.parse(run.stdout);
  const byName = new Map(report.results.map((result: { name: string }) => [result.name, result]));
  // check has no cluster: whether the Secret holds only trusted keys is a warning, not a verdict.
  const good = byName.get('good') as { verdict: string; violations: Array<{ rule: string; severity: string }> };
  assert.equal(good.verdict, 'warn');
  assert.deepEqual(
    good.violations.map((violation) => [violation.rule, violation.severity]),
    [['key-not-trusted', 'warning']],
  );
  const missing = byName.get('missing') as { verdict: string; violations: Array<{ rule: string; message: string }> };
  assert.equal(missing.verdict, 'deny');
  assert.deepEqual(
    missing.violations.map((violation) => violation.rule),
    ['key-not-trusted', 'digest-required'],
  );
  assert.match(missing.violations[1]!.message, /PW_MANIFEST_UNKNOWN/);
});

test('without the docker login the registry refuses: PW_REGISTRY_AUTH in the denial', async () => {
  const run = await check(['sources.yaml', '--config', 'policy.yaml', '--resolve', '--output', 'json'], {
    DOCKER_CONFIG: join(work, 'nowhere'),
  });
  const report = JSON.parse(run.stdout);
  const good = report.results.find((result: { name: string }) => result.name === 'good');
  assert.equal(good.verdict, 'deny');
  assert.match(
    good.violations.find((violation: { rule: string }) => violation.rule === 'digest-required').message,
    /PW_REGISTRY_AUTH/,
  );
});

test('--output yaml without --resolve is a usage error (exit 2)', async () => {
  const run = await check(['sources.yaml', '--output', 'yaml']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /PW_INPUT_INVALID/);
});

test('without --resolve nothing is contacted and a tag counts as pinnable (offline phase)', async () => {
  const run = await check(['sources.yaml', '--config', 'policy.yaml', '--output', 'json']);
  assert.equal(run.code, 0, run.stdout);
});

test('--resolve pins with the settings of the rule that decides each object (spec.rules)', async () => {
  const trusted = `trustedKeys: ['sha256:${'ab'.repeat(32)}']`;
  writeFileSync(
    join(work, 'rules.yaml'),
    `apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: t}\nspec:\n  rules:\n    - name: legacy\n      match: {namespaces: [legacy]}\n      ociRepository: {allowInsecure: true, mutate: {tagToDigest: false}, ${trusted}}\n  ociRepository: {allowInsecure: true, ${trusted}}\n  registry: {timeoutSeconds: 3}\n`,
  );
  const oci = (namespace: string): string =>
    `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: app, namespace: ${namespace}}\nspec:\n  interval: 5m\n  url: oci://${registry.host}/acme/app\n  insecure: true\n  ref: {tag: v1.2.0}\n  verify: {provider: cosign, secretRef: {name: cosign-pub}}\n`;
  writeFileSync(join(work, 'scoped.yaml'), [oci('apps'), oci('legacy')].join('---\n'));
  const run = await check(['scoped.yaml', '--config', 'rules.yaml', '--resolve', '--output', 'yaml']);
  const [apps, legacy] = parseAllDocuments(run.stdout).map((document) => document.toJS());
  assert.equal(apps.spec.ref.digest, digest, 'the default rule pins the tag');
  assert.equal(legacy.spec.ref.digest, undefined, 'rule legacy turns tag pinning off');
  const report = JSON.parse(
    (await check(['scoped.yaml', '--config', 'rules.yaml', '--resolve', '--output', 'json'])).stdout,
  );
  assert.deepEqual(
    report.results.map((result: { namespace: string; policyRule: string }) => [result.namespace, result.policyRule]),
    [
      ['apps', 'default'],
      ['legacy', 'legacy'],
    ],
  );
  const unpinned = report.results[1].violations.find(
    (violation: { rule: string }) => violation.rule === 'digest-required',
  );
  assert.match(
    unpinned.message,
    /tag pinning is off in this policy \(spec\.rules\[0\]\.ociRepository\.mutate\.tagToDigest: false\)/,
  );
});

describe('the shared registry flags', () => {
  let tlsRegistry: TestRegistry;
  let tlsDigest: string;
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-check-flags-'));
  const source = (host: string): string =>
    `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: app, namespace: apps}\nspec:\n  interval: 5m\n  url: oci://${host}/acme/app\n  ref: {tag: v1.2.0}\n`;
  const pinnedDigest = (stdout: string): unknown => parseAllDocuments(stdout)[0]?.toJS().spec.ref.digest;
  before(async () => {
    tlsRegistry = await startRegistry({ mode: 'tls' });
    tlsDigest = await pushImage(
      { host: tlsRegistry.host, path: 'acme/app', tls: { ca: tlsRegistry.tls!.caPem } },
      'v1.2.0',
    );
    writeFileSync(join(dir, 'ca.pem'), tlsRegistry.tls!.caPem);
    writeFileSync(join(dir, 'tls-source.yaml'), source(tlsRegistry.host));
    writeFileSync(join(dir, 'plain-source.yaml'), source(registry.host));
    writeFileSync(
      join(dir, 'policy.yaml'),
      `apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: t}\nspec:\n  ociRepository: {requireVerify: false}\n  registry: {timeoutSeconds: 3}\n`,
    );
  });
  after(async () => {
    await tlsRegistry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    check([...args, '--config', join(dir, 'policy.yaml'), '--resolve', '--output', 'yaml']);

  test('--ca-file trusts a private registry CA: without it the tag is not pinned, with it it is', async () => {
    const untrusted = await run([join(dir, 'tls-source.yaml')]);
    assert.equal(pinnedDigest(untrusted.stdout), undefined, untrusted.stderr);
    const trusted = await run([join(dir, 'tls-source.yaml'), '--ca-file', join(dir, 'ca.pem')]);
    assert.equal(pinnedDigest(trusted.stdout), tlsDigest, trusted.stderr);
  });

  test('--insecure lets check reach a plain-HTTP registry the object does not mark insecure', async () => {
    const refused = await run([join(dir, 'plain-source.yaml')]);
    assert.equal(pinnedDigest(refused.stdout), undefined, refused.stderr);
    const allowed = await run([join(dir, 'plain-source.yaml'), '--insecure']);
    assert.equal(pinnedDigest(allowed.stdout), digest, allowed.stderr);
  });

  test('registry flags without --resolve are a usage error naming them', async () => {
    const result = await check([join(dir, 'plain-source.yaml'), '--ca-file', join(dir, 'ca.pem'), '--insecure']);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /^pinwarden: --insecure, --ca-file apply only with --resolve .*\[PW_INPUT_INVALID\]\n$/,
    );
  });
});
