// `npm test` entry: makes sure the real tools the integration tests need are installed, then runs
// every test file with node's own runner on the Node 24 that package.json provides.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Debian packages the integration tests run for real: the reference registry, and skopeo to compare against. */
const TOOLS = [
  { binary: '/usr/bin/docker-registry', pkg: 'docker-registry' },
  { binary: '/usr/bin/skopeo', pkg: 'skopeo' },
] as const;

function ensureTools(): void {
  const missing = TOOLS.filter((tool) => !existsSync(tool.binary)).map((tool) => tool.pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`missing test tools: run "sudo apt-get install -y ${missing.join(' ')}" and retry.`);
    process.exit(1);
  }
  console.log(`installing Debian packages the tests need: ${missing.join(', ')}…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...missing]]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) {
      console.error(`apt-get ${args.join(' ')} failed: install ${missing.join(' ')} by hand and retry.`);
      process.exit(1);
    }
  }
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
    const result = spawnSync('go', ['install', `sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}`], { stdio: 'inherit', timeout: 600_000 });
    if (result.status !== 0) {
      console.log('go install kustomize failed: the kustomize test will be skipped');
      return;
    }
  }
  process.env.PINWARDEN_KUSTOMIZE = binary;
}

ensureTools();
ensureKustomize();
const patterns = process.argv.slice(2);
const files = patterns.length > 0 ? patterns : ['test/**/*.test.ts'];
const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=120000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
