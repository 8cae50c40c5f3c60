/** What a CLI command may touch of the outside world; tests pass fakes, main.ts passes the process. */
import type { Readable } from 'node:stream';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: Readable;
  /** Whether stdout is a terminal (colour only then). */
  isTty: boolean;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdin: process.stdin,
    isTty: process.stdout.isTTY === true,
    env: process.env,
    cwd: process.cwd(),
  };
}
