/**
 * Peak memory of `check` over many files: the streaming `check` (dist/main.js, one file parsed at a time,
 * only findings kept) against the collect-everything baseline it replaced (readManifests + buildReport, what
 * `check --resolve` still does), in the same run on the same generated tree. Each measurement is its own
 * child process (peak RSS from process.resourceUsage().maxRSS at exit); medians of RUNS runs.
 * Also runs the streaming check under a 128 MB heap cap (--max-old-space-size=128) and reports whether it completed.
 * Run: npm run build && node bench/check-memory.ts [FILES...]   (default 2000 10000)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.ts';

const RUNS = 3;
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const counts = process.argv
  .slice(2)
  .map(Number)
  .filter((count) => count > 0);

/** One realistic file: a Kustomization-sized Deployment beside an OCIRepository, ~2 KB. */
export function generateFile(index: number): string {
  const oci = `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: app-${index}\n  namespace: team-${index % 10}\nspec:\n  interval: 5m\n  url: oci://ghcr.io/acme/app-${index % 100}\n  ref: {tag: v1.${index % 50}.0}\n  verify:\n    provider: cosign\n    matchOIDCIdentity:\n      - issuer: '^https://token\\.actions\\.githubusercontent\\.com$'\n        subject: '^https://github\\.com/acme/app${index % 20}/\\.github/workflows/release\\.yml@refs/tags/v.*$'\n`;
  const env = Array.from({ length: 30 }, (_, i) => `            - {name: VAR_${i}, value: "value-${index}-${i}"}`).join(
    '\n',
  );
  const deployment = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-${index}\n  namespace: team-${index % 10}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: app-${index}}}\n  template:\n    metadata: {labels: {app: app-${index}}}\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/app:${index}\n          env:\n${env}\n`;
  return `${oci}---\n${deployment}`;
}

export function generateTree(files: number): string {
  const root = mkdtempSync(join(tmpdir(), 'pinwarden-check-memory-'));
  for (let i = 0; i < files; i += 1) {
    const dir = join(root, `team-${i % 10}`, `app-${Math.floor(i / 10) % 100}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.yaml`), generateFile(i));
  }
  return root;
}

const STREAMING = `
const { runCli } = await import(${JSON.stringify(join(DIST, 'cli', 'program.js'))});
const io = { stdout: () => {}, stderr: (t) => process.stderr.write(t), stdin: process.stdin, isTty: false, env: {}, cwd: process.cwd() };
const code = await runCli(['check', process.env.TREE, '-o', 'json'], io);
process.stdout.write(JSON.stringify({ code, maxRssKb: process.resourceUsage().maxRSS }));`;

const COLLECTING = `
const { readManifests } = await import(${JSON.stringify(join(DIST, 'cli', 'input', 'read-manifests.js'))});
const { buildReport } = await import(${JSON.stringify(join(DIST, 'cli', 'commands', 'check.js'))});
const { formatJson } = await import(${JSON.stringify(join(DIST, 'cli', 'output', 'json.js'))});
const { defaultPolicy } = await import(${JSON.stringify(join(DIST, 'core', 'policy', 'index.js'))});
const manifests = await readManifests([process.env.TREE], process.stdin, process.cwd());
const report = buildReport(manifests.objects, defaultPolicy());
formatJson(report);
const code = report.summary.denied > 0 ? 1 : 0;
process.stdout.write(JSON.stringify({ code, maxRssKb: process.resourceUsage().maxRSS }));`;

function measure(
  script: string,
  tree: string,
  heapMb?: number,
  extraFlags: readonly string[] = [],
): { code: number; maxRssMb: number; seconds: number } | { failed: string } {
  const args = [
    ...(heapMb ? [`--max-old-space-size=${heapMb}`] : []),
    ...extraFlags,
    '--input-type=module',
    '-e',
    script,
  ];
  const started = performance.now();
  const result = spawnSync(process.execPath, args, {
    env: { ...process.env, TREE: tree },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (result.status === null || !result.stdout.startsWith('{'))
    return {
      failed: `exit ${String(result.status)} ${String(result.signal)}: ${result.stderr.split('\n').find((line) => /heap|memory/i.test(line)) ?? result.stderr.slice(0, 200)}`,
    };
  const parsed = JSON.parse(result.stdout) as { code: number; maxRssKb: number };
  return { code: parsed.code, maxRssMb: parsed.maxRssKb / 1024, seconds: (performance.now() - started) / 1000 };
}

function medianRss(script: string, tree: string): number {
  const values: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const outcome = measure(script, tree);
    if ('failed' in outcome) throw new Error(outcome.failed);
    values.push(outcome.maxRssMb);
  }
  return median(values);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    'files | collect-all peak RSS (median) | streaming peak RSS (median) | ratio | streaming under 128 MB heap | same, young generation capped (--max-semi-space-size=4)',
  );
  for (const files of counts.length > 0 ? counts : [2000, 10_000]) {
    const tree = generateTree(files);
    try {
      const collecting = medianRss(COLLECTING, tree);
      const streaming = medianRss(STREAMING, tree);
      const capped = measure(STREAMING, tree, 128);
      const cappedText =
        'failed' in capped
          ? `FAILED (${capped.failed})`
          : `completed (exit ${capped.code}, ${capped.maxRssMb.toFixed(0)} MB RSS, ${capped.seconds.toFixed(0)} s)`;
      const young = measure(STREAMING, tree, 128, ['--max-semi-space-size=4']);
      const youngText =
        'failed' in young
          ? `FAILED (${young.failed})`
          : `completed (exit ${young.code}, ${young.maxRssMb.toFixed(0)} MB RSS, ${young.seconds.toFixed(0)} s)`;
      const cappedCollect = measure(COLLECTING, tree, 128);
      const cappedCollectText = 'failed' in cappedCollect ? 'collect-all FAILED' : 'collect-all completed';
      console.log(
        `${files} | ${collecting.toFixed(0)} MB | ${streaming.toFixed(0)} MB | ${(streaming / collecting).toFixed(2)} | ${cappedText}; ${cappedCollectText} | ${youngText}`,
      );
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  }
}
