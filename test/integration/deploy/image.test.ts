// The real Dockerfile, built with buildah on a local stand-in for the Node 24 base image and run: --help,
// `serve` answering an AdmissionReview with mounted certificates as the non-root user, nothing written outside
// the tmpfs, no dev dependencies, its size against the base, and a push to the real docker-registry whose
// digest skopeo confirms.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCa } from '../../helpers/certs.ts';
import { admissionReview, ociRepository } from '../../helpers/admission.ts';
import { freePort, startRegistry, type TestRegistry } from '../../helpers/registry.ts';
import { REPO_ROOT } from '../../helpers/cli.ts';
import { baseImageTag } from '../../../scripts/image-assets.ts';
import { appImage, buildah, buildahOk, postReview, startServe, treeBytes, uidOf, withMountedImage, workingContainer } from './image.ts';
import { run } from './helm.ts';

const BUILD_TIMEOUT_MS = 30 * 60_000;
let image = '';
const scratch = mkdtempSync(join(tmpdir(), 'pinwarden-image-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

before(() => {
  image = appImage();
}, { timeout: BUILD_TIMEOUT_MS });

interface ImageConfig {
  User?: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  WorkingDir?: string;
}

async function configOf(tag: string): Promise<ImageConfig> {
  const inspected = JSON.parse(await buildahOk(['inspect', '--type', 'image', tag])) as { OCIv1: { config: ImageConfig } };
  return inspected.OCIv1.config;
}

test('image config: numeric non-root user, ENTRYPOINT pinwarden, CMD serve, OCI labels', async () => {
  const config = await configOf(image);
  assert.equal(config.User, '65532:65532');
  assert.deepEqual(config.Entrypoint, ['pinwarden']);
  assert.deepEqual(config.Cmd, ['serve']);
  const labels = config.Labels ?? {};
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; license: string };
  assert.match(labels['org.opencontainers.image.source'] ?? '', /^https:\/\//);
  assert.match(labels['org.opencontainers.image.revision'] ?? '', /^([0-9a-f]{40}|unknown)$/);
  assert.equal(labels['org.opencontainers.image.version'], pkg.version);
  assert.equal(labels['org.opencontainers.image.licenses'], pkg.license);
  assert.ok(!(config.Env ?? []).some((entry) => entry.startsWith('NODE_EXTRA_CA_CERTS')), 'the build-stage CA argument never reaches the image');
});

test('production dependencies only, compiled dist, no sources or tests; size within 1.2x base + node_modules', async () => {
  const { imageBytes, modulesBytes } = await withMountedImage(image, (root) => {
    const modules = join(root, 'app', 'node_modules');
    assert.ok(existsSync(join(modules, 'fastify')), 'runtime dependency present');
    // Every package the lock marks dev-only (typescript, eslint, fast-check, the node binary package…).
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, entry]) => entry.dev === true && path.startsWith('node_modules/')).map(([path]) => path);
    assert.ok(devOnly.includes('node_modules/typescript') && devOnly.length > 20, 'the lock lists the dev dependencies');
    const present = devOnly.filter((path) => existsSync(join(root, 'app', path)));
    assert.deepEqual(present, [], 'dev dependencies in the image');
    assert.ok(existsSync(join(root, 'app', 'dist', 'main.js')));
    assert.ok(!existsSync(join(root, 'app', 'src')) && !existsSync(join(root, 'app', 'test')));
    assert.equal(statSync(join(root, 'app', 'dist', 'main.js')).mode & 0o111, 0o111, 'dist/main.js is executable');
    return { imageBytes: treeBytes(root), modulesBytes: treeBytes(modules) };
  });
  const baseBytes = await withMountedImage(baseImageTag(), (root) => treeBytes(root));
  const ratio = imageBytes / (baseBytes + modulesBytes);
  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
  console.log(`image ${mib(imageBytes)} MiB, base ${mib(baseBytes)} MiB, production node_modules ${mib(modulesBytes)} MiB, ratio ${ratio.toFixed(3)}`);
  assert.ok(ratio <= 1.2, `image is ${ratio.toFixed(3)}x base + node_modules (target <= 1.2)`);
});

test('pinwarden --help runs from PATH as the non-root user', async () => {
  const container = await workingContainer(image);
  try {
    const help = await buildah(['run', '--isolation', 'chroot', container.name, '--', 'pinwarden', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: pinwarden/);
    assert.match(help.stdout, /serve \[options\]/);
    const id = await buildah(['run', '--isolation', 'chroot', container.name, '--', 'node', '-p', 'process.getuid() + ":" + process.getgid()']);
    assert.equal(id.stdout.trim(), '65532:65532');
    const bad = await buildah(['run', '--isolation', 'chroot', container.name, '--', 'pinwarden', 'serve', '--port', 'not-a-port']);
    assert.notEqual(bad.code, 0);
    assert.doesNotMatch(bad.stderr, /\n\s+at .+:\d+:\d+/, 'a usage error, not a stack trace');
  } finally {
    await container.dispose();
  }
});

test('serve from the image answers AdmissionReviews with mounted certificates, as uid 65532, writing only /tmp', async () => {
  const ca = await createTestCa('pinwarden image test CA');
  const leaf = await ca.issue({ commonName: 'localhost', usage: 'server', ips: ['127.0.0.1'], dns: ['localhost'] });
  const tlsDir = join(scratch, 'tls');
  const policyDir = join(scratch, 'policy');
  for (const [dir, files] of [
    [tlsDir, { 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem }],
    [policyDir, { 'policy.yaml': 'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: image-test}\nspec:\n  mode: enforce\n  ociRepository:\n    allowedRegistries: ["oci://ghcr.io/acme/"]\n' }],
  ] as const) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content, { mode: 0o644 });
  }
  const started = Date.now() - 1000;
  const serve = await startServe(image, { port: await freePort(), metricsPort: await freePort(), tlsDir, policyDir });
  let stopped = false;
  try {
    assert.equal(uidOf(serve.pid), 65532, 'the serve process runs as the image user');
    // Outside allowedRegistries: denied with the rule id, whatever the registry would say.
    const denied = await postReview(serve.port, '/validate', ca.certPem, admissionReview(ociRepository({ url: 'oci://registry.example/other/app', ref: { digest: `sha256:${'a'.repeat(64)}` } })));
    assert.equal(denied.status, 200);
    const deniedResponse = (denied.body as { response: { allowed: boolean; status?: { message?: string } } }).response;
    assert.equal(deniedResponse.allowed, false);
    assert.match(deniedResponse.status?.message ?? '', /registry-not-allowed/);
    // A pinned, keyless source inside the policy's bounds but with no allowed identity: denied; a Bucket with ignore rules: allowed.
    const bucket = {
      apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'Bucket', metadata: { name: 'assets', namespace: 'apps' },
      spec: { interval: '5m', bucketName: 'assets', endpoint: 'minio.example:9000', ignore: '*\n!/deploy\n' },
    };
    const allowed = await postReview(serve.port, '/validate', ca.certPem, admissionReview(bucket));
    assert.equal((allowed.body as { response: { allowed: boolean } }).response.allowed, true);
    const malformed = await postReview(serve.port, '/validate', ca.certPem, { hello: 'world' });
    assert.equal(malformed.status, 400);
    // Certificate rotation as the kubelet projects a renewed Secret (new ..data directory, symlink swapped):
    // the same process serves the new pair, signed by a new CA, without a restart.
    const rotatedCa = await createTestCa('pinwarden rotated CA');
    const rotated = await rotatedCa.issue({ commonName: 'localhost', usage: 'server', ips: ['127.0.0.1'], dns: ['localhost'] });
    projectTls(tlsDir, rotated.certPem, rotated.keyPem);
    let answered = false;
    for (let attempt = 0; attempt < 80 && !answered; attempt++) {
      answered = await postReview(serve.port, '/validate', rotatedCa.certPem, admissionReview(bucket)).then(() => true, () => false);
      if (!answered) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(answered, `the rotated certificate was not served within 20 s\n${serve.output()}`);
    await assert.rejects(postReview(serve.port, '/validate', ca.certPem, admissionReview(bucket)), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'the old CA no longer verifies the server');
    assert.equal(uidOf(serve.pid), 65532, 'the same process still serves');
    await serve.stop({ keepContainer: true });
    stopped = true;
    // The container's rootfs (vfs: a plain directory) holds no file written since the start, outside /tmp (a
    // tmpfs) and the files buildah itself bind-mounts (/etc/hosts, /etc/resolv.conf, /etc/hostname, /run/.containerenv).
    const root = await buildahOk(['mount', serve.container]);
    try {
      assert.deepEqual(writtenSince(root, started), []);
    } finally {
      await buildah(['umount', serve.container]);
    }
  } finally {
    if (!stopped) await serve.stop();
    else await serve.removeContainer();
  }
});

/** kubelet-style Secret update: files in a new `..tls_N/` directory, `..data` swapped to it, names linked through it. */
function projectTls(dir: string, certPem: string, keyPem: string): void {
  const version = `..tls_${Date.now()}`;
  mkdirSync(join(dir, version));
  writeFileSync(join(dir, version, 'tls.crt'), certPem, { mode: 0o644 });
  writeFileSync(join(dir, version, 'tls.key'), keyPem, { mode: 0o644 });
  symlinkSync(version, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of ['tls.crt', 'tls.key']) {
    rmSync(join(dir, name), { force: true });
    symlinkSync(join('..data', name), join(dir, name));
  }
}

function writtenSince(root: string, sinceMs: number): string[] {
  const ignored = new Set(['etc/hosts', 'etc/resolv.conf', 'etc/hostname', 'run/.containerenv', 'tmp', 'proc', 'sys', 'dev']);
  const written: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (ignored.has(path) || entry.isSymbolicLink()) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full, path);
      else if ((statSync(full, { throwIfNoEntry: false })?.mtimeMs ?? 0) > sinceMs) written.push(path);
    }
  };
  walk(root, '');
  return written;
}

test('serve from the image with --client-ca-file (the chart\'s clientCA mount) answers only the apiserver\'s client certificate', async () => {
  const ca = await createTestCa('pinwarden image serving CA');
  const leaf = await ca.issue({ commonName: 'localhost', usage: 'server', ips: ['127.0.0.1'], dns: ['localhost'] });
  const clientCa = await createTestCa('apiserver webhook client CA');
  const apiserver = await clientCa.issue({ commonName: 'kube-apiserver', usage: 'client' });
  const stranger = await (await createTestCa('someone else')).issue({ commonName: 'kube-apiserver', usage: 'client' });
  const dirs = { tls: join(scratch, 'mtls-tls'), policy: join(scratch, 'mtls-policy'), clientCa: join(scratch, 'mtls-client-ca') };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  writeFileSync(join(dirs.tls, 'tls.crt'), leaf.certPem);
  writeFileSync(join(dirs.tls, 'tls.key'), leaf.keyPem, { mode: 0o644 });
  writeFileSync(join(dirs.policy, 'policy.yaml'), 'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: mtls}\n');
  writeFileSync(join(dirs.clientCa, 'ca.crt'), clientCa.certPem);
  const serve = await startServe(image, {
    port: await freePort(), metricsPort: await freePort(), tlsDir: dirs.tls, policyDir: dirs.policy,
    extraVolumes: [`${dirs.clientCa}:/etc/pinwarden/client-ca:ro`],
    extraArgs: ['--client-ca-file=/etc/pinwarden/client-ca/ca.crt'],
  });
  try {
    const review = admissionReview({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'apps' } });
    const answered = await postReview(serve.port, '/validate', ca.certPem, review, apiserver);
    assert.equal(answered.status, 200);
    assert.equal((answered.body as { response: { allowed: boolean } }).response.allowed, true);
    for (const client of [undefined, stranger]) {
      const outcome = await postReview(serve.port, '/validate', ca.certPem, review, client).then((result) => result.status, (error: Error) => error.message);
      assert.notEqual(outcome, 200, `answered without the apiserver's certificate (${client ? 'foreign CA' : 'none'})`);
    }
  } finally {
    await serve.stop();
  }
});

let registry: TestRegistry | undefined;
after(async () => registry?.stop());

test('pushed to the real docker-registry; skopeo reads the same digest and config', async () => {
  registry = await startRegistry({ mode: 'plain' });
  const target = `${registry.host}/pinwarden/pinwarden:test`;
  const digestFile = join(scratch, 'digest');
  const push = await buildah(['push', '--tls-verify=false', '--digestfile', digestFile, image, `docker://${target}`], 600_000);
  assert.equal(push.code, 0, push.stderr);
  const pushed = readFileSync(digestFile, 'utf8').trim();
  assert.match(pushed, /^sha256:[0-9a-f]{64}$/);
  const inspect = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${target}`], { timeoutMs: 60_000 });
  assert.equal(inspect.code, 0, inspect.stderr);
  const manifest = JSON.parse(inspect.stdout) as { Digest: string; Labels: Record<string, string> };
  assert.equal(manifest.Digest, pushed);
  assert.equal(manifest.Labels['org.opencontainers.image.licenses'], 'Apache-2.0');
  const config = await run('skopeo', ['inspect', '--config', '--tls-verify=false', `docker://${registry.host}/pinwarden/pinwarden@${pushed}`], { timeoutMs: 60_000 });
  assert.equal(config.code, 0, config.stderr);
  const parsed = JSON.parse(config.stdout) as { config: ImageConfig };
  assert.equal(parsed.config.User, '65532:65532');
  assert.deepEqual(parsed.config.Entrypoint, ['pinwarden']);
});
