// Every top-level folder and every src/ room keeps a README, so the map cannot drift silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/cli.ts';

const IGNORED = new Set(['node_modules', 'dist', 'coverage', '.git', '.ci']);

function folders(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !IGNORED.has(entry.name) && !entry.name.startsWith('.'))
    .map((entry) => join(dir, entry.name));
}

for (const folder of [...folders('.'), ...folders('src')]) {
  test(`${folder} has a README.md`, () => {
    assert.ok(existsSync(join(REPO_ROOT, folder, 'README.md')), `${folder}/README.md is missing`);
  });
}
