/**
 * `npm run bench [-- NAME...]`: runs every benchmark in bench/ (or those whose file name contains one of the
 * NAMEs), one child process each so no run warms or pollutes the next, on the project's Node 24.
 * Helper modules are not benchmarks and are skipped.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const HELPERS = new Set(['baseline-tree.ts', 'run.ts', 'stats.ts', 'webhook-server.ts']);
const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.ts') && !HELPERS.has(name))
  .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
  .sort();

if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const file of files) {
  console.log(`\n== ${file} ==  (node bench/${file})`);
  const result = spawnSync(process.execPath, [join(dir, file)], { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
