#!/usr/bin/env node
// The only reader of process.argv and the only writer of process.exitCode.
// The Node check runs before anything else loads: on an older Node the program's imports themselves fail
// (tls.getCACertificates, newer built-ins), so they are imported only once the version is known to fit.
// Then Node's module compile cache is turned on (runtime/compile-cache.ts), before the program's modules load,
// for the short commands whose start-up it shortens; not for `serve` and `controller`, which start once and run
// long (in the image /tmp, where HOME points, is a small in-memory volume the cache would only take space in).
import { nodeVersionProblem } from './runtime/node-version.ts';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`pinwarden: ${problem} [PW_NODE_UNSUPPORTED]\n`);
  process.exitCode = 2;
} else {
  const command = process.argv[2];
  if (command !== 'serve' && command !== 'controller') {
    const { enableModuleCompileCache } = await import('./runtime/compile-cache.ts');
    enableModuleCompileCache();
  }
  const { runCli } = await import('./cli/program.ts');
  process.exitCode = await runCli(process.argv.slice(2));
}
