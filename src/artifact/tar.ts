/**
 * tar-stream, required (CommonJS) on first use instead of imported: importing a CommonJS package from ESM
 * makes Node read it twice more before running it (a module-format check and a scan of its named exports),
 * and a command that extracts nothing (`pull --help`, a usage error) loads none of it (BENCHMARKS.md,
 * `pinwarden pull`). Types come from the package as usual (`import type`).
 */
import { createRequire } from 'node:module';
import type * as TarStream from 'tar-stream';

let loaded: typeof TarStream | undefined;

export function tarStream(): typeof TarStream {
  loaded ??= createRequire(import.meta.url)('tar-stream') as typeof TarStream;
  return loaded;
}
