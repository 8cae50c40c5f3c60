/**
 * Spawns the built CLI (dist/main.js, as the npm bin runs it) on the project's Node 24. A test never runs a
 * stale build: `builtCli()` refuses a dist/ older than any .ts or .json file under src/ (`npm test` builds first; a test
 * file run on its own says to run `npm run build`).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILT_CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

let checked = false;

/** dist/main.js, after checking it was built from the current src/ (throws, with what to do, when not). */
export function builtCli(): string {
  if (checked) return BUILT_CLI;
  if (!existsSync(BUILT_CLI)) throw new Error('dist/main.js is missing: run `npm run build` (npm test does it first)');
  const built = statSync(BUILT_CLI).mtimeMs;
  const newer = newestUnder(join(REPO_ROOT, 'src'));
  if (newer.mtimeMs > built)
    throw new Error(
      `dist/ is older than ${newer.path.slice(REPO_ROOT.length)}: run \`npm run build\` (npm test does it first)`,
    );
  checked = true;
  return BUILT_CLI;
}

function newestUnder(directory: string): { path: string; mtimeMs: number } {
  let newest = { path: directory, mtimeMs: 0 };
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (!entry.isDirectory() && !/\.(ts|json)$/.test(entry.name)) continue; // what tsc compiles or copies
    const candidate = entry.isDirectory() ? newestUnder(path) : { path, mtimeMs: statSync(path).mtimeMs };
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  stdin?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** false: the child sees only PATH plus `env` (no docker config or HOME of the machine leaks in). */
  inheritEnv?: boolean;
}

export function runBuiltCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  const base = options.inheritEnv === false ? { PATH: process.env.PATH ?? '' } : { ...process.env, NO_COLOR: '' };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [builtCli(), ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...base, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}
