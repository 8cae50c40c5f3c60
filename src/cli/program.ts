/**
 * Builds the commander program. Each command lives in commands/<name>.ts, exports `register(program, io,
 * setExit)` and reports its exit code through `setExit`; nothing here calls process.exit, so tests run
 * `runCli` in-process. Exit codes: 0 ok, 1 violation / verification failure, 2 usage or input error.
 */
import { Command, CommanderError } from 'commander';
import { errorLogFields, exitCodeFor, toPinwardenError } from '../core/errors.ts';
import type { CliIo } from './io.ts';
import { processIo } from './io.ts';
import type { ExitCode, RegisterCommand, SetExit } from './command.ts';
import { loadCommands } from './commands/index.ts';
import { VERSION } from '../runtime/index.ts';
import { HELP_CONFIGURATION, addHelpFooter } from './help.ts';

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
  const output = {
    writeOut: io.stdout,
    writeErr: io.stderr,
    outputError: (text: string) => io.stderr(formatUsageError(text)),
  };
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
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : exitCodeFor('PW_USAGE');
  const failure = toPinwardenError(error);
  io.stderr(`pinwarden: ${failure.message} [${failure.code}]\n`);
  // A bug report needs the frames; the foreign message (which may hold a URL with a token) stays out.
  const { causeStack } = errorLogFields(failure);
  if (failure.code === 'PW_INTERNAL' && typeof causeStack === 'string') io.stderr(`${causeStack}\n`);
  return exitCodeFor(failure);
}
