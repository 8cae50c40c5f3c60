/**
 * Same-run A/B against an older tree: `BENCH_BASELINE=<git rev>` makes `webhook.ts` and `webhook-instructions.ts`
 * also measure that revision's webhook, started from its own source with this process's Node. The revision is
 * unpacked once (`git archive`, so nothing is registered in this repository's worktree list) into
 * `~/.cache/pinwarden/bench-baseline/<full sha>` with its own `npm ci`, and reused while that directory exists.
 * Not a benchmark by itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
const GIT_TIMEOUT_MS = 60_000;
/** `npm ci` downloads packages (and runs the tree's `prepare` build): minutes on a cold cache, never unbounded. */
const INSTALL_TIMEOUT_MS = 15 * 60_000;
/** The `--serve` protocol this file's callers speak: `webhook.ts --serve webhook '{"cert","key","registry"}'`. */
const SERVE_SCRIPT = 'bench/webhook.ts';

export interface BaselineTree {
  /** The revision as given (`b3baf2f`, `main~3`, a tag). */
  rev: string;
  sha: string;
  /** The unpacked tree with its node_modules. */
  root: string;
  /** Its `bench/webhook.ts`, started as `<node> <serveScript> --serve webhook '<json args>'`. */
  serveScript: string;
}

/** `BENCH_BASELINE`, or undefined when unset or empty. */
export function baselineRevFromEnv(): string | undefined {
  const rev = process.env.BENCH_BASELINE?.trim();
  return rev ? rev : undefined;
}

export function baselineCacheDir(): string {
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cacheHome, 'pinwarden', 'bench-baseline');
}

function git(args: readonly string[], maxBuffer = 1024 * 1024): Buffer {
  return execFileSync('git', ['-C', REPOSITORY, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: GIT_TIMEOUT_MS,
    maxBuffer,
  });
}

function resolveSha(rev: string): string {
  if (rev.startsWith('-')) throw new Error(`BENCH_BASELINE=${rev}: not a git revision`);
  try {
    return git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])
      .toString()
      .trim();
  } catch {
    throw new Error(`BENCH_BASELINE=${rev}: no such commit in ${REPOSITORY}`);
  }
}

/** Writes the tree of `sha` into `target` (which exists and is empty) and installs its dependencies. */
function unpackAndInstall(sha: string, target: string): void {
  const archive = git(['archive', '--format=tar', sha], 1024 * 1024 * 1024);
  execFileSync('tar', ['-x', '-C', target], { input: archive, stdio: ['pipe', 'ignore', 'inherit'] });
  if (!existsSync(join(target, SERVE_SCRIPT))) {
    throw new Error(`baseline ${sha}: has no ${SERVE_SCRIPT}, so it cannot be started as a bench server`);
  }
  if (!readFileSync(join(target, SERVE_SCRIPT), 'utf8').includes("'--serve'")) {
    throw new Error(`baseline ${sha}: its ${SERVE_SCRIPT} has no --serve mode`);
  }
  console.error(`baseline ${sha.slice(0, 12)}: npm ci in ${target} (once; reused afterwards)`);
  // stdout to our stderr: callers print their results on stdout. `npm ci` also runs the tree's `prepare` (its
  // build), which is all it needs to run from source with type stripping.
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: target,
    stdio: ['ignore', 2, 'inherit'],
    timeout: INSTALL_TIMEOUT_MS,
  });
}

/**
 * The baseline tree for `rev`, unpacked and installed on first use. A failed or interrupted preparation leaves
 * only a `<sha>.partial-*` directory behind (removed), so a present `<sha>` directory is always complete.
 */
export function prepareBaseline(rev: string): BaselineTree {
  const sha = resolveSha(rev);
  const root = join(baselineCacheDir(), sha);
  if (!existsSync(root)) {
    mkdirSync(baselineCacheDir(), { recursive: true });
    const partial = mkdtempSync(`${root}.partial-`);
    try {
      unpackAndInstall(sha, partial);
      renameSync(partial, root);
    } catch (error) {
      rmSync(partial, { recursive: true, force: true });
      // Another bench prepared the same revision meanwhile: theirs is as good as ours.
      if (!existsSync(root)) throw error;
    }
  }
  return { rev, sha, root, serveScript: join(root, SERVE_SCRIPT) };
}

/**
 * The `--serve` arguments for the baseline's webhook. Trees from b3baf2f (2026-11-21) on take the same
 * `{cert, key, registry}` as today's; an older protocol would be translated here.
 */
export function baselineServeArgs(args: Record<string, string>): Record<string, string> {
  return { cert: args.cert ?? '', key: args.key ?? '', registry: args.registry ?? '' };
}

/** `BENCH_BASELINE`'s tree, prepared, or undefined when the variable is unset. */
export function baselineFromEnv(): BaselineTree | undefined {
  const rev = baselineRevFromEnv();
  return rev ? prepareBaseline(rev) : undefined;
}

/** For a bench's entry point: `BENCH_BASELINE`'s tree, or the reason it cannot be prepared and exit status 2. */
export function baselineOrExit(bench: string): BaselineTree | undefined {
  try {
    return baselineFromEnv();
  } catch (error) {
    console.error(`${bench}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
}
