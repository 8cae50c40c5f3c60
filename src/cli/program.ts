/** Builds the commander program; each command returns its exit code instead of calling process.exit. */
import { Command, CommanderError } from 'commander';

export type ExitCode = 0 | 1 | 2;

export async function runCli(argv: readonly string[]): Promise<ExitCode> {
  const program = new Command('pinwarden')
    .description('Guard Flux OCIRepository and Bucket sources: pin digests, require signatures, bound identities.')
    .exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
}
