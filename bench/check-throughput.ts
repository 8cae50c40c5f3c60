/**
 * `check` over 10,000 generated OCIRepositories, as a ratio to parsing the same text with `yaml` alone
 * (parseAllDocuments + toJS), both measured in this process, alternating, medians of several runs; wall time
 * (`ratio`) and this process's CPU time (`cpuRatio`, steadier when the machine is shared).
 * Run: npm run bench -- check   (or: node bench/check-throughput.ts)
 */
import { PassThrough } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { readManifests } from '../src/cli/input/read-manifests.ts';
import { buildReport } from '../src/cli/commands/check.ts';
import { formatJson } from '../src/cli/output/json.ts';
import { loadPolicy } from '../src/core/policy/index.ts';
import { median, round } from './stats.ts';

const OBJECTS = 10_000;
const RUNS = 7;

const POLICY = loadPolicy(
  `apiVersion: pinwarden.dev/v1alpha1
kind: SourcePolicy
metadata: {name: bench}
spec:
  ociRepository:
    allowedIdentities:
      - {issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/'}
    allowedRegistries: ['oci://ghcr.io/acme/']
    trustedKeys: ['sha256:${'ab'.repeat(32)}']
`,
  'bench',
);

function generateObject(index: number): string {
  const variants = [
    `  ref: {tag: v1.${index % 50}.0}\n  verify:\n    provider: cosign\n    matchOIDCIdentity:\n      - issuer: '^https://token\\.actions\\.githubusercontent\\.com$'\n        subject: '^https://github\\.com/acme/app${index % 20}/\\.github/workflows/release\\.yml@refs/tags/v.*$'\n`,
    `  ref: {digest: "sha256:${index.toString(16).padStart(64, '0')}"}\n  verify: {provider: cosign, secretRef: {name: cosign-pub}}\n`,
    `  ref: {semver: ">=1.0.0"}\n`,
    `  ref: {tag: latest}\n  verify:\n    matchOIDCIdentity:\n      - {issuer: 'https://token.actions.githubusercontent.com', subject: 'acme'}\n`,
  ];
  return `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: app-${index}\n  namespace: team-${index % 10}\nspec:\n  interval: 5m\n  url: oci://ghcr.io/acme/app-${index % 100}\n${variants[index % variants.length]}`;
}

export async function benchCheck(): Promise<Record<string, number>> {
  const text = Array.from({ length: OBJECTS }, (_, index) => generateObject(index)).join('---\n');
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-bench-'));
  const file = join(dir, 'objects.yaml');
  writeFileSync(file, text);
  try {
    const baseline = { wall: [] as number[], cpu: [] as number[] };
    const check = { wall: [] as number[], cpu: [] as number[] };
    const parse = () => parseAllDocuments(text).map((document) => document.toJS() as unknown);
    const checkOnce = async () => {
      const manifests = await readManifests([file], new PassThrough(), dir);
      return formatJson(buildReport(manifests.objects, POLICY));
    };
    parse(); // warm-up, untimed
    await checkOnce();
    for (let round = 0; round < RUNS; round += 1) {
      await timed(parse, baseline);
      await timed(checkOnce, check);
    }
    const baselineMs = median(baseline.wall);
    const checkMs = median(check.wall);
    return {
      objects: OBJECTS,
      yamlParseMedianMs: round(baselineMs),
      checkMedianMs: round(checkMs),
      ratio: round(checkMs / baselineMs),
      // CPU time of this process (user + system) per run: steadier than wall time on a shared machine.
      yamlParseCpuMedianMs: round(median(baseline.cpu)),
      checkCpuMedianMs: round(median(check.cpu)),
      cpuRatio: round(median(check.cpu) / median(baseline.cpu)),
      loadAverage: round(loadavg()[0] ?? 0, 1),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One timed run: wall and CPU milliseconds appended to `into`. */
async function timed(fn: () => unknown, into: { wall: number[]; cpu: number[] }): Promise<void> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await fn();
  into.wall.push(performance.now() - started);
  const used = process.cpuUsage(cpu);
  into.cpu.push((used.user + used.system) / 1000);
}

if (import.meta.main) {
  const result = await benchCheck();
  console.table([result]);
  console.log(JSON.stringify({ bench: 'check-throughput', ...result }));
}
