/**
 * The contract between the program and its commands, in a module of its own so `program.ts` and
 * `commands/*.ts` both import it and neither imports the other. A command registers itself on the program and
 * reports its exit code through `setExit` (0 ok, 1 violation / verification failure, 2 usage or input error:
 * the codes of errors come from the catalogue, `exitCodeFor`).
 */
import type { Command } from 'commander';
import type { ExitCode } from '../core/errors.ts';
import type { CliIo } from './io.ts';

export type { ExitCode } from '../core/errors.ts';
export type SetExit = (code: ExitCode) => void;
export type RegisterCommand = (program: Command, io: CliIo, setExit: SetExit) => Command;
