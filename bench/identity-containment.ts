/**
 * Keyless identity containment (src/core/identity) on realistic GitHub Actions / GitLab pattern pairs:
 * p50/p99 milliseconds per check, each pair run many times in this process after a warm-up.
 * Target: p99 <= 50 ms per pair. Pure CPU, no I/O.
 * Run: ./node_modules/.bin/node bench/identity-containment.ts [iterations]
 */
import { checkContainment, checkIdentity } from '../src/core/identity/index.ts';
import type { IdentityRegexes } from '../src/core/identity/index.ts';

const ITERATIONS = Number(process.argv[2] ?? 300);
const WARMUP = 30;

const GH_ISSUER = '^https://token\\.actions\\.githubusercontent\\.com$';
const GL_ISSUER = '^https://gitlab\\.com$';
const GH_ACME = '^https://github\\.com/acme/.*$';
const GL_ACME = '^https://gitlab\\.com/acme/.*$';
const RELEASE = '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v.*$';
const GL_MAIN = '^https://gitlab\\.com/acme/app//\\.gitlab-ci\\.yml@refs/heads/main$';
const POLICY: readonly IdentityRegexes[] = [
  { issuer: GH_ISSUER, subject: GH_ACME },
  { issuer: GL_ISSUER, subject: GL_ACME },
  { issuer: '^https://accounts\\.google\\.com$', subject: '^ci@acme\\.iam\\.gserviceaccount\\.com$' },
];

interface Case {
  readonly name: string;
  readonly run: () => string;
}

const pair = (name: string, submitted: string, allowed: string): Case => ({
  name,
  run: () => checkContainment(submitted, allowed).result,
});

const CASES: readonly Case[] = [
  pair('gh issuer ⊆ same', GH_ISSUER, GH_ISSUER),
  pair('gh release subject ⊆ acme/.*', RELEASE, GH_ACME),
  pair('gh unescaped dots ⊄ policy', '^https://github.com/acme/.*$', GH_ACME),
  pair(
    'gh any workflow on main ⊆ acme/.*',
    '^https://github\\.com/acme/[^/\\n]+/\\.github/workflows/[^/\\n]+@refs/heads/main$',
    GH_ACME,
  ),
  pair('gh unanchored ⊄ anchored', 'https://github\\.com/acme/', '^https://github\\.com/acme/'),
  pair(
    'gh semver tags ⊆ tags/v.*',
    '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+$',
    RELEASE,
  ),
  pair('gh (?i) subject ⊄ case-sensitive', '(?i)^https://github\\.com/acme/.*$', GH_ACME),
  pair('gl issuer ⊆ same', GL_ISSUER, GL_ISSUER),
  pair('gl main subject ⊆ acme/.*', GL_MAIN, GL_ACME),
  pair(
    'gl main ⊆ refs/(heads|tags)/.*',
    GL_MAIN,
    '^https://gitlab\\.com/acme/app//\\.gitlab-ci\\.yml@refs/(heads|tags)/.*$',
  ),
  {
    name: 'checkIdentity gh entry vs 3-identity policy',
    run: () => String(checkIdentity({ issuer: GH_ISSUER, subject: RELEASE }, POLICY).allowed),
  },
  {
    name: 'checkIdentity denied entry vs 3-identity policy',
    run: () => String(checkIdentity({ issuer: GH_ISSUER, subject: '^https://github\\.com/.*$' }, POLICY).allowed),
  },
];

function percentile(sorted: readonly number[], fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

const round = (value: number): number => Math.round(value * 1000) / 1000;

interface Row {
  readonly pair: string;
  readonly result: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

function measure({ name, run }: Case): Row {
  let result = '';
  for (let i = 0; i < WARMUP; i += 1) result = run();
  const times: number[] = [];
  for (let i = 0; i < ITERATIONS; i += 1) {
    const start = performance.now();
    result = run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return {
    pair: name,
    result,
    p50Ms: round(percentile(times, 0.5)),
    p99Ms: round(percentile(times, 0.99)),
    maxMs: round(times.at(-1) ?? 0),
  };
}

const rows = CASES.map(measure);
const width = Math.max(...rows.map((row) => row.pair.length));
console.log(
  `identity containment, ${ITERATIONS} iterations per pair after ${WARMUP} warm-up runs (Node ${process.version})`,
);
console.log(
  `${'pair'.padEnd(width)}  ${'result'.padEnd(13)}  ${'p50 ms'.padStart(8)}  ${'p99 ms'.padStart(8)}  ${'max ms'.padStart(8)}`,
);
for (const row of rows) {
  console.log(
    `${row.pair.padEnd(width)}  ${row.result.padEnd(13)}  ${row.p50Ms.toFixed(3).padStart(8)}  ${row.p99Ms.toFixed(3).padStart(8)}  ${row.maxMs.toFixed(3).padStart(8)}`,
  );
}
const worstP99 = Math.max(...rows.map((row) => row.p99Ms));
console.log(`worst p99: ${worstP99} ms (target <= 50 ms)`);
console.log(
  JSON.stringify({ benchmark: 'identity-containment', iterations: ITERATIONS, worstP99Ms: worstP99, rows }, null, 2),
);
