// `npm test` entry: makes sure the real tools the integration tests need are installed, then runs
// every test file with node's own runner on the Node 24 that package.json provides, in two phases:
// everything else first, then the control-plane tests (test/integration/cluster/, real kube-apiserver
// + etcd, CPU-heavy) with lower concurrency, so they do not make the rest flake.
import { spawnSync } from 'node:child_process';
import { existsSync, globSync } from 'node:fs';
import { ensureKubeAssets, findKubeAssets, goVersion } from './kube-assets.ts';
import { ensureHelm } from './helm-assets.ts';
import { ensureCosign, findCosign } from './cosign-assets.ts';
import { ensureAppImage } from './image-assets.ts';
import { join } from 'node:path';
import { builtCli } from '../test/helpers/cli.ts';

/** Debian packages the integration tests run for real: the reference registry, and skopeo to compare against. */
const TOOLS = [
  { binary: '/usr/bin/docker-registry', pkg: 'docker-registry' },
  { binary: '/usr/bin/skopeo', pkg: 'skopeo' },
  // The container image tests: buildah builds and runs the Dockerfile, debootstrap makes the stand-in base.
  { binary: '/usr/bin/buildah', pkg: 'buildah' },
  { binary: '/usr/sbin/debootstrap', pkg: 'debootstrap' },
] as const;

const CLUSTER_TESTS = [
  'test/integration/cluster/',
  'test/integration/deploy/chart-install',
  'test/integration/deploy/chart-crds',
];
const DEPLOY_TESTS = 'test/integration/deploy/';
const COSIGN_TESTS = 'test/integration/cosign/';

function ensureTools(): void {
  const missing = TOOLS.filter((tool) => !existsSync(tool.binary)).map((tool) => tool.pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`missing test tools: run "sudo apt-get install -y ${missing.join(' ')}" and retry.`);
    process.exit(1);
  }
  console.log(`installing Debian packages the tests need: ${missing.join(', ')}…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', ...missing],
  ]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) {
      console.error(`apt-get ${args.join(' ')} failed: install ${missing.join(' ')} by hand and retry.`);
      process.exit(1);
    }
  }
}

/**
 * kube-apiserver, etcd and kubectl for the control-plane tests: reused from the cache or KUBEBUILDER_ASSETS,
 * built from Go modules when Go is there (once, ~12 min cold). Without Go the cluster tests still run and
 * fail with the one-line instruction: never a silent skip.
 */
function ensureKubeAssetsStep(): void {
  const found = findKubeAssets();
  if (!('error' in found)) return;
  if (goVersion() === undefined) {
    console.error(found.error);
    return;
  }
  try {
    ensureKubeAssets(process.env, (line) => console.log(line));
  } catch (error) {
    console.error((error as Error).message.split('\n').slice(0, 20).join('\n'));
  }
}

/** helm v4 built from Go modules (~14 min cold). A failure is printed; the chart tests then fail with it. */
function ensureHelmStep(): void {
  try {
    ensureHelm();
  } catch (error) {
    console.error(`helm could not be built: ${(error as Error).message.split('\n').slice(0, 20).join('\n')}`);
  }
}

/**
 * The real cosign CLI for the interop tests, built from Go modules (~17 min cold) into ~/.cache/pinwarden/cosign.
 * A failure is printed; the interop tests then fail with the one-line instruction: never a silent skip.
 */
function ensureCosignStep(): void {
  if ('path' in findCosign()) return;
  try {
    ensureCosign(process.env, (line) => console.log(line));
  } catch (error) {
    console.error(`cosign could not be built: ${(error as Error).message.split('\n').slice(0, 20).join('\n')}`);
  }
}

/** The stand-in Node base image (~3 min cold) and the image of this tree's Dockerfile (~1.5 min), built once per run. */
function ensureImageStep(): void {
  try {
    ensureAppImage();
  } catch (error) {
    console.error(
      `the container image could not be built: ${(error as Error).message.split('\n').slice(0, 20).join('\n')}`,
    );
  }
}

function runNodeTests(files: string[], concurrency: number): number {
  if (files.length === 0) return 0;
  const result = spawnSync(
    process.execPath,
    ['--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, '--test-timeout=180000', ...files],
    { stdio: 'inherit' },
  );
  return result.status ?? 1;
}

/**
 * kustomize v5.7.1 for the `check` origin-annotation test (test/integration/cli/check-ci.test.ts): the Go
 * module proxy builds it once into $GOPATH/bin (cached there and in ~/.cache/go-build); tests find it through
 * PINWARDEN_KUSTOMIZE. Without Go the test is reported as skipped, with the reason.
 */
const KUSTOMIZE_VERSION = 'v5.7.1';

function ensureKustomize(): void {
  const gopath = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8' });
  if (gopath.status !== 0) {
    console.log('go is not installed: the kustomize test will be skipped');
    return;
  }
  const binary = join(gopath.stdout.trim(), 'bin', 'kustomize');
  const installed = existsSync(binary) ? spawnSync(binary, ['version'], { encoding: 'utf8' }).stdout.trim() : '';
  if (installed !== KUSTOMIZE_VERSION) {
    console.log(`installing kustomize ${KUSTOMIZE_VERSION} (go install)…`);
    const result = spawnSync('go', ['install', `sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}`], {
      stdio: 'inherit',
      timeout: 600_000,
    });
    if (result.status !== 0) {
      console.log('go install kustomize failed: the kustomize test will be skipped');
      return;
    }
  }
  process.env.PINWARDEN_KUSTOMIZE = binary;
}

/**
 * The CLI and serve tests spawn dist/main.js: `npm test` builds first (pretest); run directly, this script
 * builds when dist/ is missing or older than src/, so no test runs a stale build.
 */
function ensureFreshBuild(): void {
  try {
    builtCli();
  } catch {
    console.log('dist/ is missing or older than src/: building…');
    const result = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
      stdio: 'inherit',
    });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}

ensureFreshBuild();
ensureTools();
ensureKustomize();
const patterns = process.argv.slice(2);
const files = globSync(patterns.length > 0 ? patterns : ['test/**/*.test.ts']).sort();
const isCluster = (file: string): boolean =>
  CLUSTER_TESTS.some((prefix) => file.replaceAll('\\', '/').includes(prefix));
if (files.some((file) => file.replaceAll('\\', '/').includes(DEPLOY_TESTS))) {
  ensureHelmStep();
  ensureImageStep();
}
if (files.some((file) => file.replaceAll('\\', '/').includes(COSIGN_TESTS))) ensureCosignStep();
const general = files.filter((file) => !isCluster(file));
const cluster = files.filter(isCluster);
const first = runNodeTests(general, 2);
if (cluster.length > 0) {
  console.log(`\n# control-plane tests (${cluster.length} files, real kube-apiserver + etcd, one at a time)`);
  ensureKubeAssetsStep();
}
const second = runNodeTests(cluster, 1);
process.exit(first !== 0 ? first : second);
