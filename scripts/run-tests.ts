// `npm test` entry: makes sure the real OCI registry the integration tests need is installed, then runs
// every test file with node's own runner on the Node 24 that package.json provides.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const REGISTRY_BINARY = '/usr/bin/docker-registry';

function ensureRegistry(): void {
  if (existsSync(REGISTRY_BINARY)) return;
  if (process.getuid?.() !== 0) {
    console.error(`docker-registry is missing: run "sudo apt-get install -y docker-registry" and retry.`);
    process.exit(1);
  }
  console.log('installing Debian package docker-registry (the reference OCI registry the tests start)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'docker-registry']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) {
      console.error(`apt-get ${args.join(' ')} failed: install docker-registry by hand and retry.`);
      process.exit(1);
    }
  }
}

ensureRegistry();
const patterns = process.argv.slice(2);
const files = patterns.length > 0 ? patterns : ['test/**/*.test.ts'];
const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=120000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
