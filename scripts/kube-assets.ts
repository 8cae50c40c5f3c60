// kube-apiserver, etcd and kubectl for the control-plane tests (issue #8), built from Go modules by the
// project's own wrapper modules in test/cluster/{kube,etcd}, once, into a cache outside the work tree.
//
//   node scripts/kube-assets.ts            # print the assets directory, building it when missing
//   node scripts/kube-assets.ts --check    # print it or the one-line instruction; never builds
//   PINWARDEN_KUBE_CACHE=/tmp/x node scripts/kube-assets.ts   # build into another cache root
//
// KUBEBUILDER_ASSETS (the envtest convention: a directory holding kube-apiserver, etcd and kubectl)
// overrides the cache and the build.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KUBE_VERSION = 'v1.37.2';
/** The etcd release kube-apiserver 1.37 pairs with (its go.mod requires the 3.7 client). */
export const ETCD_VERSION = 'v3.7.3';
export const BINARIES = ['kube-apiserver', 'etcd', 'kubectl'] as const;

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODULES = join(REPO_ROOT, 'test', 'cluster');

export interface KubeAssets {
  dir: string;
  kubeApiserver: string;
  etcd: string;
  kubectl: string;
  source: 'KUBEBUILDER_ASSETS' | 'cache';
}

export interface Stamp {
  kubernetes: string;
  etcd: string;
  go: string;
  builtAt: string;
  buildSeconds?: number;
}

/** `$PINWARDEN_KUBE_CACHE/<version>`, by default `~/.cache/pinwarden/kube/<version>`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.PINWARDEN_KUBE_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pinwarden', 'kube');
  return join(root, KUBE_VERSION);
}

function assetsIn(dir: string, source: KubeAssets['source']): KubeAssets {
  return {
    dir,
    kubeApiserver: join(dir, 'kube-apiserver'),
    etcd: join(dir, 'etcd'),
    kubectl: join(dir, 'kubectl'),
    source,
  };
}

function missingIn(dir: string): string[] {
  return BINARIES.filter((name) => !existsSync(join(dir, name)));
}

/** The one line a person needs when the binaries are not there. */
export function instruction(env: NodeJS.ProcessEnv = process.env): string {
  const go = goVersion() === undefined ? 'install Go ≥ 1.26 (https://go.dev/dl/), then ' : '';
  return `kube-apiserver/etcd/kubectl ${KUBE_VERSION} not found in ${cacheDir(env)}: ${go}run "node scripts/kube-assets.ts" (about 12 minutes cold), or set KUBEBUILDER_ASSETS to a directory holding kube-apiserver, etcd and kubectl.`;
}

/** Finds the binaries without building: KUBEBUILDER_ASSETS when set, else the cache. */
export function findKubeAssets(env: NodeJS.ProcessEnv = process.env): KubeAssets | { error: string } {
  const override = env.KUBEBUILDER_ASSETS;
  if (override !== undefined && override !== '') {
    const missing = missingIn(override);
    if (missing.length > 0)
      return {
        error: `KUBEBUILDER_ASSETS=${override} lacks ${missing.join(', ')}: point it at a directory holding kube-apiserver, etcd and kubectl, or unset it.`,
      };
    return assetsIn(override, 'KUBEBUILDER_ASSETS');
  }
  const dir = cacheDir(env);
  if (missingIn(dir).length > 0 || !existsSync(join(dir, 'stamp.json'))) return { error: instruction(env) };
  return assetsIn(dir, 'cache');
}

export function goVersion(): string | undefined {
  const result = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Returns the assets, building them into the cache when missing (needs Go and the Go module proxy). */
export function ensureKubeAssets(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = console.error,
): KubeAssets {
  const found = findKubeAssets(env);
  if (!('error' in found)) return found;
  if (env.KUBEBUILDER_ASSETS !== undefined && env.KUBEBUILDER_ASSETS !== '') throw new Error(found.error);
  const go = goVersion();
  if (go === undefined) throw new Error(found.error);
  const dir = cacheDir(env);
  const started = Date.now();
  log(
    `building kube-apiserver, kubectl ${KUBE_VERSION} and etcd ${ETCD_VERSION} from Go modules into ${dir} (once; about 12 minutes and 205 MB of modules when cold)…`,
  );
  const work = mkdtempSync(join(tmpdir(), 'pinwarden-kube-build-'));
  try {
    const out = join(work, 'out');
    mkdirSync(out);
    buildKube(join(work, 'kube'), out);
    buildEtcd(join(work, 'etcd'), out);
    const stamp: Stamp = {
      kubernetes: KUBE_VERSION,
      etcd: ETCD_VERSION,
      go,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 1000),
    };
    writeFileSync(join(out, 'stamp.json'), `${JSON.stringify(stamp, null, 2)}\n`);
    mkdirSync(dirname(dir), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(out, dir);
    log(`built in ${stamp.buildSeconds} s: ${dir}`);
    return assetsIn(dir, 'cache');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CGO_ENABLED: '0', GOWORK: 'off', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' };
}

export function go(cwd: string, args: string[]): string {
  const result = spawnSync('go', args, {
    cwd,
    env: goEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`go ${args.join(' ')} (in ${cwd}) failed:\n${result.stderr.trim()}`);
  return result.stdout;
}

function copyModule(name: 'kube' | 'etcd', into: string): void {
  mkdirSync(into);
  copyFileSync(join(MODULES, name, 'go.mod'), join(into, 'go.mod'));
}

/**
 * The staging modules k8s.io/kubernetes requires at v0.0.0 (it maps them to ./staging in its own
 * replace block, which does not apply to a consumer), read from the release's own go.mod.
 */
export function stagingModules(goMod: string): string[] {
  const names = new Set<string>();
  for (const line of goMod.split('\n')) {
    const match = /^\s*(?:require\s+)?(k8s\.io\/[A-Za-z0-9._/-]+)\s+v0\.0\.0(?:\s|$)/.exec(line);
    if (match) names.add(match[1]!);
  }
  return [...names].sort();
}

/** v1.37.2 → v0.37.2: the tag every staging module carries for a Kubernetes release. */
export function stagingVersion(kubeVersion: string): string {
  const match = /^v1\.(\d+\.\d+)$/.exec(kubeVersion);
  if (!match) throw new Error(`not a Kubernetes release: ${kubeVersion}`);
  return `v0.${match[1]}`;
}

function buildKube(work: string, out: string): void {
  copyModule('kube', work);
  const info = JSON.parse(go(work, ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBE_VERSION}`])) as {
    GoMod: string;
  };
  const staging = stagingModules(readFileSync(info.GoMod, 'utf8'));
  if (staging.length === 0)
    throw new Error(
      `k8s.io/kubernetes@${KUBE_VERSION} go.mod lists no v0.0.0 staging modules: the recipe needs a look`,
    );
  const version = stagingVersion(KUBE_VERSION);
  go(work, ['mod', 'edit', ...staging.map((name) => `-replace=${name}=${name}@${version}`)]);
  go(work, ['mod', 'tidy']);
  const [major, minor] = KUBE_VERSION.slice(1).split('.');
  const buildDate = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const stamp = (pkg: string): string[] => [
    `-X '${pkg}.gitVersion=${KUBE_VERSION}'`,
    `-X '${pkg}.gitMajor=${major}'`,
    `-X '${pkg}.gitMinor=${minor}'`,
    `-X '${pkg}.gitTreeState=clean'`,
    `-X '${pkg}.buildDate=${buildDate}'`,
  ];
  const ldflags = [
    '-s',
    '-w',
    ...stamp('k8s.io/component-base/version'),
    ...stamp('k8s.io/client-go/pkg/version'),
  ].join(' ');
  go(work, [
    'build',
    '-trimpath',
    '-ldflags',
    ldflags,
    '-o',
    `${out}/`,
    'k8s.io/kubernetes/cmd/kube-apiserver',
    'k8s.io/kubernetes/cmd/kubectl',
  ]);
}

function buildEtcd(work: string, out: string): void {
  copyModule('etcd', work);
  go(work, ['mod', 'tidy']);
  go(work, ['build', '-trimpath', '-ldflags', '-s -w', '-o', join(out, 'etcd'), 'go.etcd.io/etcd/server/v3']);
}

/**
 * The command line of an assets script (this one and cosign-assets.ts): `--check` prints where the cached build
 * is or why there is none (exit 1) and never builds; without it, builds when needed and prints the path.
 */
export function runAssetsCommand(
  moduleUrl: string,
  find: () => { path: string } | { error: string },
  ensure: () => string,
): void {
  if (process.argv[1] === undefined || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  try {
    if (process.argv.includes('--check')) {
      const found = find();
      if ('error' in found) {
        console.error(found.error);
        process.exit(1);
      }
      console.log(found.path);
    } else {
      console.log(ensure());
    }
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}

runAssetsCommand(
  import.meta.url,
  () => {
    const found = findKubeAssets();
    return 'error' in found ? found : { path: found.dir };
  },
  () => ensureKubeAssets().dir,
);
