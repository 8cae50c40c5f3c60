// The room table of src/README.md is the one eslint.config.js enforces: a room added or allowed in one place
// only fails here until the other says the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { REPO_ROOT } from '../helpers/cli.ts';

function readmeTable(): Record<string, string[]> {
  const text = readFileSync(`${REPO_ROOT}/src/README.md`, 'utf8');
  const table: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    const match = /^\| `([a-z]+)\/` \| ([^|]*) \|/.exec(line);
    if (!match) continue;
    const cell = (match[2] ?? '').trim();
    table[match[1]!] =
      cell === '–'
        ? []
        : cell
            .split(',')
            .map((room) => room.trim())
            .sort();
  }
  return table;
}

async function eslintTable(): Promise<Record<string, string[]>> {
  const config = `${REPO_ROOT}/eslint.config.js`;
  const { MAY_IMPORT } = (await import(config)) as { MAY_IMPORT: Record<string, string[]> };
  return Object.fromEntries(Object.entries(MAY_IMPORT).map(([room, allowed]) => [room, [...allowed].sort()]));
}

test('src/README.md and eslint.config.js list the same rooms with the same allowed imports', async () => {
  const readme = readmeTable();
  assert.ok(Object.keys(readme).length >= 10, `parsed ${Object.keys(readme).length} rows from src/README.md`);
  assert.deepEqual(readme, await eslintTable());
});

test('every folder under src/ is a room of the table', async () => {
  const { readdirSync } = await import('node:fs');
  const folders = readdirSync(`${REPO_ROOT}/src`, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
  const rooms = Object.keys(await eslintTable());
  for (const folder of folders) assert.ok(rooms.includes(folder), `src/${folder}/ is not in the room table`);
});
