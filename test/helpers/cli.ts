/** Spawns the built CLI (dist/main.js, as the npm bin runs it) on the project's Node 24. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BUILT_CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

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
    const child = spawn(process.execPath, [BUILT_CLI, ...args], {
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
