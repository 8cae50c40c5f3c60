/**
 * The CLI in-process, through the same program as `dist/main.js` (fast): for the cases whose process
 * behaviour (exit status, stdio of a real child) another test covers with `runBuiltCli`.
 */
import { Readable } from 'node:stream';
import { runCli } from '../../src/cli/program.ts';

export interface InProcessRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface InProcessOptions {
  /** The working directory the command resolves its paths against. */
  cwd: string;
  /** The whole environment the command sees (default: none). */
  env?: Record<string, string>;
  /** Default: an empty stream. */
  stdin?: Readable;
}

export async function runCliInProcess(args: readonly string[], options: InProcessOptions): Promise<InProcessRun> {
  let stdout = '';
  let stderr = '';
  const stdin = options.stdin ?? Readable.from([]);
  const code = await runCli(args, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    stdin,
    isTty: false,
    env: options.env ?? {},
    cwd: options.cwd,
  });
  return { code, stdout, stderr };
}
