/**
 * Builds the commander program. Each command lives in commands/<name>.ts, exports `register(program, io,
 * setExit)` and reports its exit code through `setExit`; nothing here calls process.exit, so tests run
 * `runCli` in-process. Exit codes: 0 ok, 1 violation / verification failure, 2 usage or input error.
 */
import { Command, CommanderError } from 'commander';
import { PinwardenError, exitCodeFor, toPinwardenError } from '../core/errors.ts';
import type { CliIo } from './io.ts';
import { processIo } from './io.ts';
import { loadCommands, type RegisterCommand } from './commands/index.ts';
import { VERSION } from '../runtime/version.ts';
import { HELP_CONFIGURATION, addHelpFooter } from './help.ts';

export type ExitCode = 0 | 1 | 2;
export type SetExit = (code: ExitCode) => void;

export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<ExitCode> {
  let exitCode: ExitCode = 0;
  const program = buildProgram(io, await loadCommands(argv), (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportFailure(error, io);
  }
}

function buildProgram(io: CliIo, commands: readonly RegisterCommand[], setExit: SetExit): Command {
  // commander's own errors (unknown option, missing argument, bad choice) get the same one-line shape as
  // every other error: "pinwarden: MESSAGE [PW_USAGE]", exit 2 (reportFailure).
  const output = { writeOut: io.stdout, writeErr: io.stderr, outputError: (text: string) => io.stderr(formatUsageError(text)) };
  const program = new Command('pinwarden')
    .description('Guard Flux OCIRepository and Bucket sources: pin digests, require signatures, bound identities.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput(output)
    .configureHelp(HELP_CONFIGURATION)
    .exitOverride();
  addHelpFooter(program, 'pinwarden');
  for (const register of commands) {
    const command = register(program, io, setExit);
    command.exitOverride().configureOutput(output);
    addHelpFooter(command, command.name());
  }
  return program;
}

export function formatUsageError(text: string): string {
  const message = text.trim().replace(/^error: /, '');
  return `pinwarden: ${message} [PW_USAGE]\n`;
}

function reportFailure(error: unknown, io: CliIo): ExitCode {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : exitCodeFor(new PinwardenError('PW_USAGE', error.message));
  const failure = error instanceof PinwardenError ? error : toPinwardenError(error);
  io.stderr(`pinwarden: ${failure.message} [${failure.code}]\n`);
  if (failure.code === 'PW_INTERNAL' && failure.cause instanceof Error && failure.cause.stack) {
    io.stderr(`${failure.cause.stack}\n`);
  }
  return exitCodeFor(failure);
}
