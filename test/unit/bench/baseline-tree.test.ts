// bench/baseline-tree.ts: BENCH_BASELINE=<rev> resolves to a cached, installed tree of that commit; bad revisions
// and trees that cannot serve the bench are refused with a clear message and leave nothing in the cache.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineRevFromEnv, baselineServeArgs, prepareBaseline } from '../../../bench/baseline-tree.ts';
import { REPO_ROOT } from '../../helpers/cli.ts';

const git = (...args: string[]): string =>
  execFileSync('git', ['-C', REPO_ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

let cacheHome: string;
const saved = { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME, BENCH_BASELINE: process.env.BENCH_BASELINE };

beforeEach(() => {
  cacheHome = mkdtempSync(join(tmpdir(), 'pinwarden-baseline-test-'));
  process.env.XDG_CACHE_HOME = cacheHome;
});

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(cacheHome, { recursive: true, force: true });
});

test('BENCH_BASELINE is read trimmed; unset or blank means no baseline', () => {
  process.env.BENCH_BASELINE = ' b3baf2f ';
  assert.equal(baselineRevFromEnv(), 'b3baf2f');
  process.env.BENCH_BASELINE = '  ';
  assert.equal(baselineRevFromEnv(), undefined);
  delete process.env.BENCH_BASELINE;
  assert.equal(baselineRevFromEnv(), undefined);
});

test('a prepared tree is reused as it is, keyed by the full commit id', () => {
  const sha = git('rev-parse', 'HEAD');
  const root = join(cacheHome, 'pinwarden', 'bench-baseline', sha);
  mkdirSync(root, { recursive: true });
  const tree = prepareBaseline('HEAD');
  assert.deepEqual(tree, { rev: 'HEAD', sha, root, serveScript: join(root, 'bench', 'webhook.ts') });
  // Neither unpacked nor installed again.
  assert.deepEqual(readdirSync(root), []);
  assert.deepEqual(readdirSync(join(cacheHome, 'pinwarden', 'bench-baseline')), [sha]);
});

test('an unknown revision or an option-like one is refused by name', () => {
  assert.throws(
    () => prepareBaseline('no-such-revision-anywhere'),
    /BENCH_BASELINE=no-such-revision-anywhere: no such commit/,
  );
  assert.throws(() => prepareBaseline('--output=/tmp/x'), /BENCH_BASELINE=--output=\/tmp\/x: not a git revision/);
});

test('a tree without the bench server is refused before any install, and leaves no partial directory', () => {
  const first = git('rev-list', '--max-parents=0', 'HEAD').split('\n')[0] ?? '';
  assert.throws(() => git('cat-file', '-e', `${first}:bench/webhook.ts`), 'the first commit has no bench/webhook.ts');
  assert.throws(() => prepareBaseline(first), /has no bench\/webhook\.ts, so it cannot be started as a bench server/);
  assert.deepEqual(readdirSync(join(cacheHome, 'pinwarden', 'bench-baseline')), []);
});

test("the baseline's --serve arguments are today's cert, key and registry", () => {
  const args = { cert: '/w/tls.crt', key: '/w/tls.key', registry: '127.0.0.1:5000', extra: 'x' };
  assert.deepEqual(baselineServeArgs(args), { cert: '/w/tls.crt', key: '/w/tls.key', registry: '127.0.0.1:5000' });
});
