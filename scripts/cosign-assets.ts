// The real cosign CLI for the interop tests (test/integration/cosign/) and the README's cluster-without-Flux
// walkthrough, built from its Go module by the project's own wrapper module test/cosign/go.mod, once, into a cache
// outside the work tree: `~/.cache/pinwarden/cosign/<version>/cosign` with a stamp.json, reused when present.
//
//   node scripts/cosign-assets.ts            # print the binary's path, building it when missing
//   node scripts/cosign-assets.ts --check    # print it or the one-line instruction; never builds
//   PINWARDEN_COSIGN_CACHE=/tmp/x node scripts/cosign-assets.ts   # build into another cache root
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { go, goVersion, runAssetsCommand } from './kube-assets.ts';

/** The cosign release test/cosign/go.mod requires (keep the two in step; its go directive is 1.26.0). */
export const COSIGN_VERSION = 'v3.1.3';
const COSIGN_PACKAGE = 'github.com/sigstore/cosign/v3/cmd/cosign';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MODULE = join(REPO_ROOT, 'test', 'cosign');

export interface CosignStamp {
  cosign: string;
  go: string;
  builtAt: string;
  buildSeconds: number;
}

/** `$PINWARDEN_COSIGN_CACHE/<version>`, by default `~/.cache/pinwarden/cosign/<version>`. */
export function cosignCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const root =
    env.PINWARDEN_COSIGN_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pinwarden', 'cosign');
  return join(root, COSIGN_VERSION);
}

/** The one line a person needs when the binary is not there. */
export function cosignInstruction(env: NodeJS.ProcessEnv = process.env): string {
  const go = goVersion() === undefined ? 'install Go ≥ 1.26 (https://go.dev/dl/), then ' : '';
  return `cosign ${COSIGN_VERSION} not found in ${cosignCacheDir(env)}: ${go}run "node scripts/cosign-assets.ts" (about 17 minutes cold on 2 shared cores).`;
}

/** The cached binary, or the instruction; never builds. */
export function findCosign(env: NodeJS.ProcessEnv = process.env): { path: string } | { error: string } {
  const dir = cosignCacheDir(env);
  const path = join(dir, 'cosign');
  if (!existsSync(path) || !existsSync(join(dir, 'stamp.json'))) return { error: cosignInstruction(env) };
  return { path };
}

/** Returns the binary's path, building it into the cache when missing (needs Go and the Go module proxy). */
export function ensureCosign(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = console.error,
): string {
  const found = findCosign(env);
  if ('path' in found) return found.path;
  const version = goVersion();
  if (version === undefined) throw new Error(found.error);
  const dir = cosignCacheDir(env);
  const started = Date.now();
  log(`building cosign ${COSIGN_VERSION} from Go modules into ${dir} (once; about 17 minutes when cold)…`);
  const work = mkdtempSync(join(tmpdir(), 'pinwarden-cosign-build-'));
  try {
    const out = join(work, 'out');
    mkdirSync(out);
    const module = join(work, 'module');
    mkdirSync(module);
    copyFileSync(join(MODULE, 'go.mod'), join(module, 'go.mod'));
    go(module, ['mod', 'tidy']);
    // cosign's Makefile stamps the version the same way, so `cosign version` reports the release.
    const ldflags = `-s -w -X sigs.k8s.io/release-utils/version.gitVersion=${COSIGN_VERSION} -X sigs.k8s.io/release-utils/version.gitTreeState=clean`;
    go(module, ['build', '-trimpath', '-ldflags', ldflags, '-o', join(out, 'cosign'), COSIGN_PACKAGE]);
    const stamp: CosignStamp = {
      cosign: COSIGN_VERSION,
      go: version,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 1000),
    };
    writeFileSync(join(out, 'stamp.json'), `${JSON.stringify(stamp, null, 2)}\n`);
    mkdirSync(dirname(dir), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(out, dir);
    log(`built in ${stamp.buildSeconds} s: ${join(dir, 'cosign')}`);
    return join(dir, 'cosign');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

runAssetsCommand(import.meta.url, findCosign, () => ensureCosign());
