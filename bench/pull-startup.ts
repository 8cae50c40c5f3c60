/**
 * `npm run build && node bench/pull-startup.ts [RUNS]`: where a cold `pinwarden pull` spends its start-up. Each
 * run is a fresh Node process that turns on the compile cache as dist/main.js does, then loads what `pull`
 * loads, one step at a time (a package the CLI requires on first use is required here too), and reports the
 * CPU time (user + system) of each step; a step's figure is what it adds on top of the steps before it. The
 * first line is Node's own start-up (the CPU time before the first line of the child script runs). Medians of
 * RUNS (default 9) after one warm-up run that also fills the compile cache. The baseline to read it against is
 * bench/pull.ts (the whole pull, and skopeo).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, round } from './stats.ts';

const DIST = new URL('../dist/', import.meta.url);
const STEPS: ReadonlyArray<[string, string]> = [
  ['commander', 'commander'],
  ['cli/program (core/errors, runtime/index: tls, crypto)', 'cli/program.js'],
  [
    '@sigstore/verify, core, bundle, protobuf-specs (required, as signature/sigstore.ts does)',
    'require:@sigstore/verify',
  ],
  ['re2js', 're2js'],
  ['tar-stream, streamx (required, as artifact/tar.ts does)', 'require:tar-stream'],
  ['oci/index (node:https, tls, dns, net; 27 files)', 'oci/index.js'],
  ['signature/index (18 files, core/binding, core/go-regex)', 'signature/index.js'],
  ['artifact/index (extract; pack without its ignore matcher)', 'artifact/index.js'],
  ['flows/pull/index', 'flows/pull/index.js'],
  ['cli/commands/pull (flags, verify command)', 'cli/commands/pull.js'],
];

// The child is plain JavaScript (`node --input-type=module -e`): a .ts child would add Node's type stripping to
// the start-up it measures.
const CHILD = `
const cpuMs = () => { const usage = process.cpuUsage(); return (usage.user + usage.system) / 1000; };
const start = cpuMs();
const [dist, steps] = [process.argv[1], JSON.parse(process.argv[2])];
const { enableModuleCompileCache } = await import(new URL('runtime/compile-cache.js', dist).href);
enableModuleCompileCache();
const require = (await import('node:module')).createRequire(new URL('main.js', dist));
const figures = [start];
for (const target of steps) {
  const before = cpuMs();
  if (target.startsWith('require:')) require(target.slice('require:'.length));
  else await import(target.endsWith('.js') ? new URL(target, dist).href : target);
  figures.push(cpuMs() - before);
}
console.log(JSON.stringify(figures));
`;

{
  const runs = Number(process.argv[2] ?? 9);
  const steps = JSON.stringify(STEPS.map(([, target]) => target));
  const once = (): number[] => {
    // Run from the repository root so that the packages resolve from its node_modules.
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, DIST.href, steps], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('..', DIST)),
    });
    if (result.status !== 0) throw new Error(`child failed (${result.status}): ${result.stderr}`);
    return JSON.parse(result.stdout) as number[];
  };
  once();
  const samples = Array.from({ length: runs }, once);
  const labels = ['Node start-up (before the first line)', ...STEPS.map(([label]) => label)];
  const medians = labels.map((label, index) => [label, round(median(samples.map((figures) => figures[index]!)), 1)]);
  const total = round(
    medians.reduce((sum, [, value]) => sum + Number(value), 0),
    0,
  );
  console.log(`CPU ms per step, median of ${runs} fresh processes (compile cache on):`);
  for (const [label, value] of medians) console.log(`${String(value).padStart(7)}  ${label}`);
  console.log(JSON.stringify({ stepsCpuMs: Object.fromEntries(medians), sumOfMediansCpuMs: total }));
}
