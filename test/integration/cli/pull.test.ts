// `pinwarden pull` end to end against Debian's real docker-registry, with real signatures (a test key, and the
// test's own Sigstore for keyless): exit 0 extracts, 1 refuses (verification, unsafe or invalid content) and
// leaves nothing, 2 for usage errors. Then the malicious artifacts, one per extraction rule: each one is signed
// with the trusted key, so verification passes and only the extraction rule can stop it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runCliInProcess } from '../../helpers/cli-in-process.ts';
import { packArtifact, pushArtifact } from '../../../src/artifact/index.ts';
import { MEDIA_TYPES } from '../../../src/oci/index.ts';
import type { Call, HttpRepository } from '../../../src/oci/index.ts';
import { runBuiltCli } from '../../helpers/cli.ts';
import type { TestRegistry } from '../../helpers/registry.ts';
import { TEST_SUBJECT, mintLeaf } from '../../helpers/sigstore-fixtures.ts';
import { attachBundle, attachLegacy, dsseBundle, legacySignature } from '../../helpers/sigstore-fixtures-sign.ts';
import type { KeySigner } from '../../helpers/sigstore-fixtures-sign.ts';
import { tarGz, tarHeader } from '../../helpers/tarballs.ts';
import { startCountingProxy } from '../../helpers/counting-proxy.ts';
import { COMMIT, OTHER_COMMIT, signKeyless } from '../../helpers/binding-fixtures.ts';
import { githubClaims } from '../../helpers/sigstore-fixtures.ts';
import type { CraftedEntry } from '../../helpers/tarballs.ts';
import { keyPairIn, sigstoreIn, startSigningWorkspace } from '../../helpers/signing-workspace.ts';
import type { SigningWorkspace } from '../../helpers/signing-workspace.ts';

const ISSUER = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const call = (): Call => ({ signal: AbortSignal.timeout(30_000) });

let workspace: SigningWorkspace;
let registry: TestRegistry;
let repo: HttpRepository;
let dir: string;
let keys: KeySigner;
const refs: Record<string, string> = {};

/** A Flux-shaped artifact whose layer is exactly `layer` (crafted bytes), signed with the test key. */
async function pushSignedLayer(name: string, layer: Uint8Array): Promise<string> {
  const config = await repo.pushBlob(new TextEncoder().encode('{}'), MEDIA_TYPES.fluxConfig, call());
  const layerDescriptor = await repo.pushBlob(layer, MEDIA_TYPES.fluxContent, call());
  const manifestBytes = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config,
      layers: [layerDescriptor],
      annotations: { 'org.opencontainers.image.revision': `${name}@sha1:${'1'.repeat(40)}` },
    }),
  );
  const manifest = await repo.pushManifest(manifestBytes, MEDIA_TYPES.ociManifest, name, call());
  await attachBundle(repo, manifest, dsseBundle(keys, manifest.digest));
  return workspace.refOf(manifest);
}

before(async () => {
  workspace = await startSigningWorkspace('pinwarden-pull-');
  ({ registry, repo, dir } = workspace);
  const fixture = await sigstoreIn(dir);
  keys = keyPairIn(dir, 'cosign.pub');
  keyPairIn(dir, 'other.pub');

  const source = join(dir, 'source');
  mkdirSync(join(source, 'apps'), { recursive: true });
  writeFileSync(join(source, 'apps', 'deploy.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n');
  writeFileSync(join(source, 'kustomization.txt'), 'plain\n');
  const good = await pushArtifact(
    repo,
    await packArtifact({
      path: source,
      source: 'https://github.com/acme/app',
      revision: `main@sha1:${'2'.repeat(40)}`,
      reproducible: true,
    }),
    'good',
    call(),
  );
  await attachBundle(repo, good, dsseBundle(keys, good.digest));
  await attachLegacy(repo, good, [
    legacySignature(await mintLeaf(fixture.ca), repo.name, good.digest, { rekor: fixture.rekor, logIndex: 7 }),
  ]);
  refs.good = workspace.refOf(good);
  // Commit binding: signed keyless by a workflow run of acme/app on COMMIT; one artifact claims COMMIT, one another.
  const claims = githubClaims({ repository: 'acme/app', sha: COMMIT, ref: 'refs/heads/main' });
  for (const [name, commit] of [
    ['bound', COMMIT],
    ['other-commit', OTHER_COMMIT],
  ] as const) {
    const artifact = await pushArtifact(
      repo,
      await packArtifact({
        path: source,
        source: 'https://github.com/acme/app',
        revision: `main@sha1:${commit}`,
        reproducible: true,
      }),
      name,
      call(),
    );
    await signKeyless(fixture, repo, artifact, { claims, subject: WORKFLOW, format: 'bundle' });
    refs[name] = workspace.refOf(artifact);
  }
  const unsigned = await pushArtifact(
    repo,
    await packArtifact({
      path: source,
      source: 'https://github.com/acme/app',
      revision: 'unsigned',
      reproducible: true,
    }),
    'unsigned',
    call(),
  );
  refs.unsigned = workspace.refOf(unsigned);

  const crafted = async (name: string, entries: CraftedEntry[]) =>
    (refs[name] = await pushSignedLayer(name, await tarGz(entries)));
  await crafted('absolute', [
    { name: 'ok.yaml', content: 'a: 1\n' },
    { name: '/etc/cron.d/pinwarden-test', content: '* * * * * root true\n' },
  ]);
  await crafted('dotdot', [
    { name: 'ok.yaml', content: 'a: 1\n' },
    { name: 'apps/../../../escape.yaml', content: 'x: 1\n' },
  ]);
  await crafted('symlink', [
    { name: 'escape', type: 'symlink', linkname: join(dir, 'outside') },
    { name: 'escape/pwned.yaml', content: 'x: 1\n' },
    { name: 'ok.yaml', content: 'a: 1\n' },
  ]);
  await crafted('hardlink', [
    { name: 'passwd', type: 'link', linkname: '/etc/passwd' },
    { name: 'ok.yaml', content: 'a: 1\n' },
  ]);
  await crafted('device', [
    { name: 'ok.yaml', content: 'a: 1\n' },
    { name: 'null', type: 'character-device' },
  ]);
  await crafted('fifo', [{ name: 'pipe', type: 'fifo' }]);
  await crafted(
    'many',
    Array.from({ length: 10_050 }, (_, index) => ({ name: `m/${index}.yaml`, content: '' })),
  );
  // 256 MiB of zeros: about 250 KB compressed, 1000:1 (the default ratio cap stops it after 16 MiB).
  refs.bomb = await pushSignedLayer(
    'bomb',
    gzipSync(Buffer.concat([tarHeader('bomb.yaml', 256 * 1024 * 1024), Buffer.alloc(256 * 1024 * 1024 + 1024)]), {
      level: 9,
    }),
  );
  // Incompressible: only the size cap can stop it.
  refs.big = await pushSignedLayer(
    'big',
    await tarGz([{ name: 'big.bin', content: randomBytes(3 * 1024 * 1024).toString('latin1') }]),
  );
  const whole = await tarGz([
    { name: 'a.yaml', content: 'y'.repeat(50_000) },
    { name: 'b.yaml', content: 'b: 1\n' },
  ]);
  refs.truncated = await pushSignedLayer('truncated', whole.subarray(0, whole.length - 30));
  mkdirSync(join(dir, 'outside'));
});

after(() => workspace?.stop());

async function pull(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliInProcess(['pull', ...args, '--insecure', '--timeout', '60s'], { cwd: dir });
}

/** A fresh output path under its own parent, to check that nothing is left beside it either. */
let runs = 0;
function outputPath(name: string): { parent: string; out: string } {
  const parent = join(dir, `run-${name}-${++runs}`);
  mkdirSync(parent);
  return { parent, out: join(parent, 'out') };
}

async function refusedWith(name: string, code: string, message: RegExp, ...extra: string[]): Promise<void> {
  const { parent, out } = outputPath(name);
  const run = await pull(refs[name] ?? '', '-o', out, '--key', 'cosign.pub', ...extra);
  assert.equal(run.code, 1, `${run.stdout}${run.stderr}`);
  assert.ok(run.stderr.includes(`[${code}]`), run.stderr);
  assert.match(run.stderr, message);
  assert.deepEqual(readdirSync(parent), [], 'nothing is left behind, the target does not exist');
}

test('pull --key: verified, then extracted; the output names the layer and the signature', async () => {
  const { parent, out } = outputPath('good-key');
  const run = await pull(refs.good ?? '', '-o', out, '--key', 'cosign.pub');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^Pulled OK: oci:\/\/.*@sha256:[0-9a-f]{64}\n/);
  assert.match(run.stdout, /verified: +bundle \(key\)/);
  assert.match(run.stdout, /files: +2 \(/);
  assert.equal(
    readFileSync(join(out, 'apps', 'deploy.yaml'), 'utf8'),
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n',
  );
  assert.deepEqual(readdirSync(parent), ['out']);
});

test("pull keyless with cosign's flag names and the test Sigstore's trusted root", async () => {
  const { out } = outputPath('good-keyless');
  const run = await pull(
    refs.good ?? '',
    '-o',
    out,
    '--certificate-oidc-issuer',
    ISSUER,
    '--certificate-identity',
    TEST_SUBJECT,
    '--trusted-root',
    'trusted_root.json',
    '--format',
    'json',
  );
  assert.equal(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout);
  assert.equal(json.verified.mode, 'keyless');
  assert.equal(json.verified.issuer, ISSUER);
  assert.deepEqual(json.verified.subjects, [TEST_SUBJECT]);
  assert.equal(json.files, 2);
  assert.equal(readFileSync(join(out, 'kustomization.txt'), 'utf8'), 'plain\n');
});

test('pull refuses, before extracting anything: unsigned, wrong key, wrong identity (exit 1)', async () => {
  for (const [name, ref, args, code] of [
    ['unsigned', refs.unsigned, ['--key', 'cosign.pub'], 'PW_SIGNATURE_NOT_FOUND'],
    ['wrong-key', refs.good, ['--key', 'other.pub'], 'PW_SIGNATURE_INVALID'],
    [
      'wrong-identity',
      refs.good,
      ['--issuer', `^${ISSUER}$`, '--subject', '^https://github\\.com/other/', '--trusted-root', 'trusted_root.json'],
      'PW_IDENTITY_MISMATCH',
    ],
  ] as const) {
    const { parent, out } = outputPath(name);
    const run = await pull(ref ?? '', '-o', out, ...args);
    assert.equal(run.code, 1, `${name}: ${run.stderr}`);
    assert.match(run.stderr, /^Pull FAILED \(nothing extracted\): /);
    assert.ok(run.stderr.includes(code), `${name}: ${run.stderr}`);
    assert.deepEqual(readdirSync(parent), [], name);
  }
});

test('pull --commit-binding enforce with a key signature: refused, a public key carries no commit claims', async () => {
  const { parent, out } = outputPath('binding');
  const run = await pull(refs.good ?? '', '-o', out, '--key', 'cosign.pub', '--commit-binding', 'enforce');
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /PW_COMMIT_BINDING/);
  assert.deepEqual(readdirSync(parent), []);
});

test('pull keyless --commit-binding enforce: the commit the workflow built is extracted; another commit is refused naming both', async () => {
  const keyless = [
    '--certificate-oidc-issuer',
    ISSUER,
    '--certificate-identity',
    WORKFLOW,
    '--trusted-root',
    'trusted_root.json',
    '--commit-binding',
    'enforce',
    '--source-repository-ref',
    '^refs/heads/main$',
  ];
  const bound = outputPath('bound');
  const ok = await pull(refs.bound ?? '', '-o', bound.out, ...keyless);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(
    ok.stdout,
    new RegExp(`commit binding: +bound to commit ${COMMIT} of https://github\\.com/acme/app \\(refs/heads/main\\)\n`),
  );
  assert.match(ok.stdout, new RegExp(`source commit: +${COMMIT}\n`));
  const other = outputPath('other-commit');
  const refused = await pull(refs['other-commit'] ?? '', '-o', other.out, ...keyless);
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(
    refused.stderr,
    new RegExp(
      `revision annotation "main@sha1:${OTHER_COMMIT}" but the signing workflow built ${COMMIT} \\(certificate SourceRepositoryDigest\\) \\[PW_COMMIT_BINDING\\]`,
    ),
  );
  assert.deepEqual(readdirSync(other.parent), []);
  // warn (the default): extracted, with the warning on stderr and beside the identity.
  const warned = outputPath('other-commit-warn');
  const warn = await pull(refs['other-commit'] ?? '', '-o', warned.out, ...keyless.slice(0, -4));
  assert.equal(warn.code, 0, warn.stderr);
  assert.match(warn.stderr, /pinwarden: warning: commit binding: revision annotation/);
  assert.deepEqual(readdirSync(warned.parent), ['out']);
});

test('pull --skip-verify extracts and says on stderr that nothing was verified', async () => {
  const { out } = outputPath('skip');
  const run = await pull(refs.unsigned ?? '', '-o', out, '--skip-verify');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /WITHOUT signature verification/);
  assert.match(run.stdout, /verified: +NO/);
});

test('malicious artifact through pull: an absolute path', () =>
  refusedWith('absolute', 'PW_ARTIFACT_UNSAFE', /is an absolute path/));

test("malicious artifact through pull: a '..' path", () =>
  refusedWith('dotdot', 'PW_ARTIFACT_UNSAFE', /contains '\.\.'/));

test('malicious artifact through pull: a symlink escaping the root is skipped with a warning; nothing lands outside', async () => {
  const { out } = outputPath('symlink');
  const run = await pull(refs.symlink ?? '', '-o', out, '--key', 'cosign.pub');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /warning: skipped symlink 'escape' -> '.*outside': links are not extracted/);
  assert.deepEqual(readdirSync(join(dir, 'outside')), []);
  assert.equal(lstatSync(join(out, 'escape')).isDirectory(), true);
  assert.equal(readFileSync(join(out, 'escape', 'pwned.yaml'), 'utf8'), 'x: 1\n');
});

test('malicious artifact through pull: a hardlink is skipped with a warning', async () => {
  const { out } = outputPath('hardlink');
  const run = await pull(refs.hardlink ?? '', '-o', out, '--key', 'cosign.pub');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /warning: skipped hardlink 'passwd' -> '\/etc\/passwd'/);
  assert.deepEqual(readdirSync(out), ['ok.yaml']);
});

test('malicious artifact through pull: a device entry', () =>
  refusedWith('device', 'PW_ARTIFACT_UNSAFE', /'null' is a character-device/));

test('malicious artifact through pull: a fifo', () => refusedWith('fifo', 'PW_ARTIFACT_UNSAFE', /'pipe' is a fifo/));

test('malicious artifact through pull: more entries than the default file-count cap', () =>
  refusedWith('many', 'PW_ARTIFACT_UNSAFE', /more than 10000 entries/));

test('malicious artifact through pull: a zip bomb stopped by the default ratio cap', () =>
  refusedWith('bomb', 'PW_ARTIFACT_UNSAFE', /compression ratio cap/));

test('malicious artifact through pull: over the size cap (--max-size)', () =>
  refusedWith('big', 'PW_TOO_LARGE', /over the 1048576-byte cap/, '--max-size', '1MiB'));

test('malicious artifact through pull: over the uncompressed size cap while streaming (--max-size above the layer)', () =>
  refusedWith('bomb', 'PW_ARTIFACT_UNSAFE', /the size cap/, '--max-size', '8MiB', '--max-ratio', '100000'));

test('malicious artifact through pull: a truncated gzip layer', () =>
  refusedWith('truncated', 'PW_ARTIFACT_INVALID', /not a complete gzip stream/));

test('a registry (or mirror) serving other bytes for the layer digest: PW_DIGEST_MISMATCH, nothing extracted', async () => {
  const proxy = await startCountingProxy(`http://${registry.host}`);
  try {
    const digest = (refs.good ?? '').split('@')[1] ?? '';
    const manifest = JSON.parse(new TextDecoder().decode((await repo.fetchManifest(digest, call())).bytes));
    const layer = manifest.layers[0];
    // A valid gzip tar of exactly the layer's size, other content: only the digest check can tell.
    let other = await tarGz([{ name: 'apps/deploy.yaml', content: 'kind: ClusterRoleBinding\n' }]);
    other = Buffer.concat([other, Buffer.alloc(Math.max(0, layer.size - other.length))]).subarray(0, layer.size);
    assert.equal(other.length, layer.size);
    proxy.tamper = (method, path) =>
      method === 'GET' && path === `/v2/acme/app/blobs/${layer.digest}`
        ? { respond: { status: 200, headers: { 'content-length': String(other.length) }, body: other } }
        : undefined;
    const { parent, out } = outputPath('tampered');
    const run = await pull(`oci://${proxy.host}/acme/app@${digest}`, '-o', out, '--key', 'cosign.pub');
    assert.equal(run.code, 1, run.stdout);
    assert.match(
      run.stderr,
      /content digest sha256:[0-9a-f]{64} does not match sha256:[0-9a-f]{64} \[PW_DIGEST_MISMATCH\]/,
    );
    assert.equal(proxy.count('GET', `/v2/acme/app/blobs/${layer.digest}`), 1, 'the layer was fetched once and refused');
    assert.deepEqual(readdirSync(parent), []);
  } finally {
    await proxy.stop();
  }
});

test('pull usage errors exit 2 and touch nothing', async () => {
  const { parent, out } = outputPath('usage');
  const tag = await pull(`oci://${registry.host}/acme/app:good`, '-o', out, '--key', 'cosign.pub');
  assert.equal(tag.code, 2);
  assert.match(tag.stderr, /needs a digest reference/);
  assert.equal((await pull(refs.good ?? '', '-o', out)).code, 2, 'neither identity nor key');
  assert.equal(
    (await pull(refs.good ?? '', '-o', out, '--skip-verify', '--key', 'cosign.pub')).code,
    2,
    '--skip-verify with a key',
  );
  const size = await pull(refs.good ?? '', '-o', out, '--key', 'cosign.pub', '--max-size', 'lots');
  assert.equal(size.code, 2);
  assert.match(size.stderr, /--max-size must be a positive size/);
  assert.deepEqual(readdirSync(parent), []);
  mkdirSync(out);
  writeFileSync(join(out, 'keep.txt'), 'mine\n');
  const notEmpty = await pull(refs.good ?? '', '-o', out, '--key', 'cosign.pub');
  assert.equal(notEmpty.code, 2);
  assert.match(notEmpty.stderr, /exists and is not empty/);
  assert.deepEqual(readdirSync(out), ['keep.txt']);
});

test('the built CLI: exit 0 pulled, 1 refused, 2 usage, each with one line and no stack', async () => {
  const { parent, out } = outputPath('built');
  const args = (ref: string, target: string) => [
    'pull',
    ref,
    '-o',
    target,
    '--key',
    join(dir, 'cosign.pub'),
    '--insecure',
    '--timeout',
    '60s',
  ];
  const ok = await runBuiltCli(args(refs.good ?? '', out), { inheritEnv: false, env: { HOME: dir } });
  assert.equal(ok.code, 0, ok.stderr);
  const unsafe = await runBuiltCli(args(refs.absolute ?? '', join(parent, 'unsafe')), {
    inheritEnv: false,
    env: { HOME: dir },
  });
  assert.equal(unsafe.code, 1);
  assert.match(unsafe.stderr, /^pinwarden: .*is an absolute path \[PW_ARTIFACT_UNSAFE\]\n$/);
  const usage = await runBuiltCli(['pull', refs.good ?? ''], { inheritEnv: false, env: { HOME: dir } });
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--output/);
  assert.doesNotMatch(`${unsafe.stderr}${usage.stderr}`, /\n\s+at /);
  assert.deepEqual(readdirSync(parent), ['out']);
});
