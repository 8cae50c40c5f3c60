/** The command registry: one line per command file. */
import type { Command } from 'commander';
import type { CliIo } from '../io.ts';
import type { SetExit } from '../program.ts';
import { registerCheck } from './check.ts';
import { registerResolve } from './resolve.ts';
import { registerPush } from './push.ts';
import { registerVerify } from './verify.ts';
import { registerServe } from './serve.ts';

export type RegisterCommand = (program: Command, io: CliIo, setExit: SetExit) => Command;

export const COMMANDS: readonly RegisterCommand[] = [
  registerCheck,
  registerResolve,
  registerPush,
  registerVerify,
  registerServe,
];
