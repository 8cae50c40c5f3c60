/**
 * The command registry: one line per command file. A command module is imported only when it runs (or when
 * the whole program is listed, for help), so `pinwarden check` never loads the webhook, Kubernetes or
 * Sigstore code: its memory is the checker's, not the whole product's (BENCHMARKS.md, `check` memory).
 */
import type { RegisterCommand } from '../command.ts';

export const COMMANDS: ReadonlyArray<{ name: string; load: () => Promise<RegisterCommand> }> = [
  { name: 'check', load: async () => (await import('./check.ts')).registerCheck },
  { name: 'resolve', load: async () => (await import('./resolve.ts')).registerResolve },
  { name: 'push', load: async () => (await import('./push.ts')).registerPush },
  { name: 'verify', load: async () => (await import('./verify.ts')).registerVerify },
  { name: 'pull', load: async () => (await import('./pull.ts')).registerPull },
  { name: 'serve', load: async () => (await import('./serve.ts')).registerServe },
  { name: 'controller', load: async () => (await import('./controller.ts')).registerController },
];

/** The registrations to build: only the named command when argv starts with one, else all of them. */
export async function loadCommands(argv: readonly string[]): Promise<RegisterCommand[]> {
  const named = COMMANDS.find((command) => command.name === argv[0]);
  return Promise.all((named ? [named] : COMMANDS).map((command) => command.load()));
}
