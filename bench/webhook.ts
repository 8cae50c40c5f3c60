/**
 * The admission webhook under load, as ratios to baselines measured in the same run:
 *  - /validate and warm /mutate requests/s and p99 vs a bare fastify HTTPS JSON echo of the same body, over
 *    the same TLS certificate, at equal concurrency (targets: >= 0.8x and >= 0.7x throughput);
 *  - cold /mutate latency (tag not cached: one HEAD to the registry inside) vs one raw HEAD to the same
 *    registry (target <= 1.5x);
 *  - peak RSS of the webhook process under that load.
 * Each server runs in its own child process (this file with --serve), the load generator (autocannon) here.
 * Run: npm run bench -- webhook   (or: node bench/webhook.ts; BENCH_SECONDS=N sets each load run's length,
 * BENCH_ROUNDS=N the paired rounds, BENCH_RATE=N a fixed request rate, BENCH_BASELINE=<git rev> a third server:
 * that revision's webhook, see baseline-tree.ts)
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { MEDIA_TYPES } from '../src/oci/index.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { median, percentile, round } from './stats.ts';
import { baselineOrExit, baselineServeArgs } from './baseline-tree.ts';
import type { BaselineTree } from './baseline-tree.ts';
import { benchPolicyText, mutateReview, pushBenchTags, serveForBench, validateReview } from './webhook-server.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = 32;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const COLD_SAMPLES = 40;
/**
 * BENCH_RATE=N: every load run at a fixed N requests/s (autocannon overallRate) instead of as fast as it goes.
 * Throughput ratios are then 1 by construction; the figure to read is server CPU per request, which at an equal
 * rate does not depend on how much CPU the load generator and other jobs leave the server (batching).
 */
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
const SELF = fileURLToPath(import.meta.url);

interface Child {
  process: ChildProcess;
  port: number;
}

/** Starts `script --serve mode args` with this Node: this file, or a baseline tree's own `bench/webhook.ts`. */
async function spawnServer(mode: 'webhook' | 'echo', args: Record<string, string>, script = SELF): Promise<Child> {
  const child = spawn(process.execPath, [script, '--serve', mode, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const parsed = JSON.parse(line) as { port: number };
    return { process: child, port: parsed.port };
  }
  throw new Error(`${mode} server exited before listening`);
}

interface LoadRun {
  rps: number;
  p99: number;
  errors: number;
  /** Server CPU time (user + system) per answered request, from /proc/<pid>/stat. */
  cpuUsPerRequest: number;
}

/** utime + stime of a process, in µs (clock ticks are 10 ms on Linux). */
function cpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function load(server: Child, path: string, body: string, seconds: number): Promise<LoadRun> {
  const port = server.port;
  const cpuBefore = cpuUs(server.process.pid ?? 0);
  const result = await autocannon({
    url: `https://127.0.0.1:${port}${path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: CONNECTIONS,
    duration: seconds,
    ...(RATE ? { overallRate: RATE } : {}),
  });
  const cpu = cpuUs(server.process.pid ?? 0) - cpuBefore;
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    cpuUsPerRequest: cpu / Math.max(1, result.requests.total),
  };
}

interface ServerSummary {
  rps: number;
  p99Ms: number;
  /** Median of rps / the same round's echo rps. */
  throughputRatio: number;
  worstRatio: number;
  cpuUsPerReq: number;
  /** Median of CPU per request / the same round's echo CPU per request. */
  cpuRatio: number;
}

/** Medians of one server's runs, each paired with the echo run of the same round. */
function summarize(runs: readonly LoadRun[], echoRuns: readonly LoadRun[]): ServerSummary {
  const ratios = runs.map((run, i) => run.rps / (echoRuns[i]?.rps ?? Number.NaN));
  const cpuRatios = runs.map((run, i) => run.cpuUsPerRequest / (echoRuns[i]?.cpuUsPerRequest ?? Number.NaN));
  return {
    rps: round(median(runs.map((run) => run.rps)), 0),
    p99Ms: median(runs.map((run) => run.p99)),
    throughputRatio: round(median(ratios)),
    worstRatio: round(Math.min(...ratios)),
    cpuUsPerReq: round(median(runs.map((run) => run.cpuUsPerRequest)), 1),
    cpuRatio: round(median(cpuRatios)),
  };
}

/** The baseline tree's figures beside today's, and today's against the baseline's within each round. */
function baselineColumns(baselineRuns: readonly LoadRun[], hookRuns: readonly LoadRun[], echoRuns: readonly LoadRun[]) {
  const baseline = summarize(baselineRuns, echoRuns);
  const paired = (value: (run: LoadRun) => number): number =>
    round(
      median(
        hookRuns.map((run, i) => {
          const base = baselineRuns[i];
          return base ? value(run) / value(base) : Number.NaN;
        }),
      ),
    );
  return {
    baselineRps: baseline.rps,
    baselineP99Ms: baseline.p99Ms,
    baselineRatio: baseline.throughputRatio,
    baselineWorstRatio: baseline.worstRatio,
    baselineCpuUsPerReq: baseline.cpuUsPerReq,
    baselineCpuRatio: baseline.cpuRatio,
    baselineErrors: baselineRuns.reduce((sum, run) => sum + run.errors, 0),
    // Above 1: today's tree answers more requests per second than the baseline's.
    currentOverBaselineRps: paired((run) => run.rps),
    // Above 1: today's tree spends more server CPU per request than the baseline's.
    currentOverBaselineCpu: paired((run) => run.cpuUsPerRequest),
  };
}

/**
 * Alternates echo and webhook runs (after a warm-up of each). The machine is shared and noisy, so each
 * webhook run is compared with the echo run just before it, and the ratio reported is the median of those.
 * With a baseline tree's webhook, each round is the echo then both webhooks, in turns current-first and
 * baseline-first (so neither always runs straight after the echo); both are paired with that round's echo
 * run, and current with baseline within the round.
 */
async function compare(
  echo: Child,
  webhook: Child,
  path: string,
  body: string,
  baseline?: Child,
): Promise<Record<string, number>> {
  await load(echo, '/echo', body, 2);
  await load(webhook, path, body, 2);
  if (baseline) await load(baseline, path, body, 2);
  const echoRuns: LoadRun[] = [];
  const hookRuns: LoadRun[] = [];
  const baselineRuns: LoadRun[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    echoRuns.push(await load(echo, '/echo', body, SECONDS));
    if (baseline && i % 2 === 1) baselineRuns.push(await load(baseline, path, body, SECONDS));
    hookRuns.push(await load(webhook, path, body, SECONDS));
    if (baseline && i % 2 === 0) baselineRuns.push(await load(baseline, path, body, SECONDS));
  }
  const current = summarize(hookRuns, echoRuns);
  return {
    echoRps: round(median(echoRuns.map((run) => run.rps)), 0),
    webhookRps: current.rps,
    throughputRatio: current.throughputRatio,
    worstRatio: current.worstRatio,
    echoP99Ms: median(echoRuns.map((run) => run.p99)),
    webhookP99Ms: current.p99Ms,
    echoCpuUsPerReq: round(median(echoRuns.map((run) => run.cpuUsPerRequest)), 1),
    webhookCpuUsPerReq: current.cpuUsPerReq,
    cpuRatio: current.cpuRatio,
    errors: [...echoRuns, ...hookRuns].reduce((sum, run) => sum + run.errors, 0),
    ...(baseline ? baselineColumns(baselineRuns, hookRuns, echoRuns) : {}),
  };
}

type Load = Record<string, number>;

/** One path's figures as a row per server (echo, current, baseline), for reading the baseline beside today. */
function serverRows(path: string, load: Load): [string, Record<string, number | undefined>][] {
  return [
    [`${path} echo`, { rps: load.echoRps, p99Ms: load.echoP99Ms, cpuUsPerReq: load.echoCpuUsPerReq }],
    [
      `${path} current`,
      {
        rps: load.webhookRps,
        p99Ms: load.webhookP99Ms,
        ratio: load.throughputRatio,
        worstRatio: load.worstRatio,
        cpuUsPerReq: load.webhookCpuUsPerReq,
        cpuRatio: load.cpuRatio,
        errors: load.errors,
        rpsOverBaseline: load.currentOverBaselineRps,
        cpuOverBaseline: load.currentOverBaselineCpu,
      },
    ],
    [
      `${path} baseline`,
      {
        rps: load.baselineRps,
        p99Ms: load.baselineP99Ms,
        ratio: load.baselineRatio,
        worstRatio: load.baselineWorstRatio,
        cpuUsPerReq: load.baselineCpuUsPerReq,
        cpuRatio: load.baselineCpuRatio,
        errors: load.baselineErrors,
      },
    ],
  ];
}

function timed(send: (done: () => void) => void): Promise<number> {
  return new Promise((resolve) => {
    const started = performance.now();
    send(() => resolve(performance.now() - started));
  });
}

/**
 * Cold /mutate (a tag never seen: the resolver must HEAD the registry) vs a raw HEAD to the same registry over
 * a kept-alive connection, interleaved; a warm /mutate (cache hit) alongside shows the webhook's own share.
 */
async function coldLatency(webhook: Child, registryHost: string, ca: string): Promise<Record<string, number>> {
  const httpsAgent = new HttpsAgent({ keepAlive: true, ca, maxSockets: 1 });
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const mutate = (tag: string): Promise<number> =>
    timed((done) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: webhook.port,
          path: '/mutate?timeout=10s',
          method: 'POST',
          agent: httpsAgent,
          servername: 'localhost',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', done);
        },
      );
      req.end(mutateReview(registryHost, tag));
    });
  const head = (tag: string): Promise<number> =>
    timed((done) => {
      const [host, port] = registryHost.split(':');
      const req = httpRequest(
        {
          host,
          port: Number(port),
          path: `/v2/bench/app/manifests/${tag}`,
          method: 'HEAD',
          agent: httpAgent,
          headers: { accept: MEDIA_TYPES.ociManifest },
        },
        (res) => {
          res.resume();
          res.on('end', done);
        },
      );
      req.end();
    });
  for (let i = 0; i < 3; i++) {
    await mutate(`warm-${i}`);
    await head(`warm-${i}`);
  }
  const cold: number[] = [];
  const raw: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < COLD_SAMPLES; i++) {
    cold.push(await mutate(`cold-${i}`));
    raw.push(await head(`raw-${i}`));
    warm.push(await mutate('v1'));
  }
  httpsAgent.destroy();
  httpAgent.destroy();
  const sortedCold = [...cold].sort((a, b) => a - b);
  const sortedRaw = [...raw].sort((a, b) => a - b);
  return {
    samples: COLD_SAMPLES,
    coldMutateMedianMs: round(median(cold), 3),
    coldMutateP90Ms: round(percentile(sortedCold, 90), 3),
    rawHeadMedianMs: round(median(raw), 3),
    rawHeadP90Ms: round(percentile(sortedRaw, 90), 3),
    latencyRatio: round(median(cold) / median(raw)),
    // The same request answered from the cache: what the webhook itself adds (TLS round trip, admission work).
    warmMutateMedianMs: round(median(warm), 3),
  };
}

function memoryOf(pid: number): { peakRssMiB: number; rssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { peakRssMiB: round(kib('VmHWM') / 1024, 1), rssMiB: round(kib('VmRSS') / 1024, 1) };
}

/** `tree`: a baseline tree (`BENCH_BASELINE`) whose webhook is measured beside today's in the same rounds. */
export async function benchWebhook(tree?: BaselineTree): Promise<Record<string, unknown>> {
  const work = mkdtempSync(join(tmpdir(), 'pinwarden-bench-webhook-'));
  execFileSync('sh', [fileURLToPath(new URL('../certs/make-dev-certs.sh', import.meta.url)), work], {
    stdio: 'ignore',
  });
  const registry = await startRegistry({ mode: 'plain' });
  const children: ChildProcess[] = [];
  try {
    const tags = [
      'v1',
      ...[0, 1, 2].map((i) => `warm-${i}`),
      ...Array.from({ length: COLD_SAMPLES }, (_, i) => `cold-${i}`),
      ...Array.from({ length: COLD_SAMPLES }, (_, i) => `raw-${i}`),
    ];
    await pushBenchTags(registry.host, tags);
    const args = { cert: join(work, 'tls.crt'), key: join(work, 'tls.key'), registry: registry.host };
    const echo = await spawnServer('echo', args);
    children.push(echo.process);
    const webhook = await spawnServer('webhook', args);
    children.push(webhook.process);
    const baseline = tree ? await spawnServer('webhook', baselineServeArgs(args), tree.serveScript) : undefined;
    if (baseline) children.push(baseline.process);
    const validate = await compare(echo, webhook, '/validate', validateReview(registry.host), baseline);
    const warmMutate = await compare(echo, webhook, '/mutate', mutateReview(registry.host, 'v1'), baseline);
    const memory = {
      webhook: memoryOf(webhook.process.pid!),
      ...(baseline ? { baseline: memoryOf(baseline.process.pid!) } : {}),
      echo: memoryOf(echo.process.pid!),
    };
    const ca = readFileSync(join(work, 'ca.crt'), 'utf8');
    const cold = await coldLatency(webhook, registry.host, ca);
    const baselineCold = baseline ? await coldLatency(baseline, registry.host, ca) : undefined;
    return {
      node: process.version,
      ...(RATE ? { rate: RATE } : {}),
      ...(tree ? { baseline: { rev: tree.rev, sha: tree.sha } } : {}),
      connections: CONNECTIONS,
      seconds: SECONDS,
      rounds: ROUNDS,
      validate,
      warmMutate,
      cold,
      ...(baselineCold ? { baselineCold } : {}),
      memory,
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  if (process.argv[2] === '--serve') {
    const port = await serveForBench(
      process.argv[3] as 'webhook' | 'echo',
      JSON.parse(process.argv[4] ?? '{}') as Record<string, string>,
    );
    console.log(JSON.stringify({ port }));
  } else {
    const tree = baselineOrExit('webhook');
    const result = await benchWebhook(tree);
    console.log(
      `webhook over TLS: ${CONNECTIONS} connections, ${SECONDS}s x ${ROUNDS} rounds per server (medians)${RATE ? `, fixed ${RATE} req/s` : ''}, Node ${process.version}`,
    );
    console.log(`policy:\n${benchPolicyText('<registry>')}`);
    const paths = { '/validate': result.validate, '/mutate (warm)': result.warmMutate } as Record<string, Load>;
    if (tree) {
      console.log(`current = this tree, baseline = ${tree.rev} (${tree.sha.slice(0, 12)}), same rounds`);
      console.table(Object.fromEntries(Object.entries(paths).flatMap(([path, load]) => serverRows(path, load))));
    } else {
      console.table(paths);
    }
    console.table(result.baselineCold ? { current: result.cold, baseline: result.baselineCold } : [result.cold]);
    console.table(result.memory);
    console.log(JSON.stringify({ bench: 'webhook', ...result }));
  }
}
