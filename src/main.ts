#!/usr/bin/env node
// The only reader of process.argv and the only writer of process.exitCode.
import { runCli } from './cli/program.ts';

process.exitCode = await runCli(process.argv.slice(2));
