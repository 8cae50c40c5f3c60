/**
 * The admission webhook over TLS as CPU instructions per request (valgrind's callgrind), against the bare fastify
 * HTTPS echo of `webhook.ts`: the same servers (`node bench/webhook.ts --serve`), each under callgrind with
 * instrumentation switched on only for the measured requests (after a warm-up), driven by autocannon with 4
 * connections (under callgrind a server runs ~50× slower; more connections time out and reconnect, and a TLS
 * handshake would be counted). Instruction counts do not depend on what else the machine runs, so this is the
 * A/B to use on a shared machine where CPU time per request moves by ±25 %; the counts still move by ~±5 %
 * between runs (the JIT compiles and the GC runs inside the window). Takes about 5 minutes.
 * Run: node bench/webhook-instructions.ts   (BENCH_WARMUP=N requests before counting, BENCH_REQUESTS=N counted,
 * BENCH_BASELINE=<git rev> also counts that revision's webhook in the same run, see baseline-tree.ts)
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startRegistry } from '../test/helpers/registry.ts';
import { baselineOrExit, baselineServeArgs } from './baseline-tree.ts';
import { round } from './stats.ts';
import { mutateReview, pushBenchTags, validateReview } from './webhook-server.ts';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 1500);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 800);
const CONNECTIONS = 4;
const SERVER = fileURLToPath(new URL('./webhook.ts', import.meta.url));

/** One server to count: `script --serve mode args` (this tree's `webhook.ts`, or a baseline tree's). */
interface Server {
  /** Names the callgrind output files and the error messages. */
  label: 'echo' | 'webhook' | 'baseline';
  mode: 'echo' | 'webhook';
  script: string;
  args: Record<string, string>;
}

/** Instructions per answered request of one server on one path. */
async function instructionsPerRequest(server: Server, path: string, body: string, work: string): Promise<number> {
  const { label, mode } = server;
  const prefix = `callgrind-${label}-${path.slice(1)}`;
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(work, `${prefix}.out`)}`,
      process.execPath,
      server.script,
      '--serve',
      mode,
      JSON.stringify(server.args),
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  try {
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    const port = (JSON.parse(String(first.value)) as { port: number }).port;
    const url = `https://127.0.0.1:${port}${mode === 'echo' ? '/echo' : path}`;
    const load = (amount: number) =>
      autocannon({
        url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        connections: CONNECTIONS,
        amount,
        timeout: 120,
      });
    const control = (...flags: string[]) =>
      execFileSync('callgrind_control', [...flags, String(child.pid)], { stdio: 'ignore' });
    await load(WARMUP);
    control('-i', 'on');
    control('-z');
    const result = await load(REQUESTS);
    control('-d');
    const failed = result.errors + result.timeouts + result.non2xx;
    if (failed > 0) throw new Error(`${label} ${path}: ${failed} failed requests (a reconnect would be counted)`);
    // The dump of the measured window (the file written at exit holds what came after).
    for (const name of readdirSync(work).filter((file) => file.startsWith(prefix))) {
      const text = readFileSync(join(work, name), 'utf8');
      const summary = /^summary: (\d+)/m.exec(text);
      if (text.includes('Trigger: dump') && summary) return Number(summary[1]) / result.requests.total;
    }
    throw new Error(`${label} ${path}: no callgrind dump`);
  } finally {
    child.kill('SIGTERM');
  }
}

/** One path's counts in kIr and their ratios (each read as a throughput ratio if bound by instructions alone). */
function row(echo: number, webhook: number, baseline?: number): Record<string, number> {
  const kIr = (instructions: number): number => round(instructions / 1000, 1);
  return {
    echoKIr: kIr(echo),
    ...(baseline === undefined ? {} : { baselineKIr: kIr(baseline) }),
    webhookKIr: kIr(webhook),
    addedKIr: kIr(webhook - echo),
    echoOverWebhook: round(echo / webhook),
    ...(baseline === undefined
      ? {}
      : {
          baselineAddedKIr: kIr(baseline - echo),
          echoOverBaseline: round(echo / baseline),
          // Above 1: today's tree executes more instructions per request than the baseline's.
          webhookOverBaseline: round(webhook / baseline, 3),
        }),
  };
}

if (import.meta.main) {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('webhook-instructions: valgrind is not installed; skipped');
    process.exit(0);
  }
  const tree = baselineOrExit('webhook-instructions');
  const work = mkdtempSync(join(tmpdir(), 'pinwarden-bench-instructions-'));
  execFileSync('sh', [fileURLToPath(new URL('../certs/make-dev-certs.sh', import.meta.url)), work], {
    stdio: 'ignore',
  });
  const registry = await startRegistry({ mode: 'plain' });
  try {
    await pushBenchTags(registry.host, ['v1']);
    const args = { cert: join(work, 'tls.crt'), key: join(work, 'tls.key'), registry: registry.host };
    const echo: Server = { label: 'echo', mode: 'echo', script: SERVER, args };
    const webhook: Server = { label: 'webhook', mode: 'webhook', script: SERVER, args };
    const baseline: Server | undefined = tree
      ? { label: 'baseline', mode: 'webhook', script: tree.serveScript, args: baselineServeArgs(args) }
      : undefined;
    const rows: Record<string, Record<string, number>> = {};
    for (const [path, body] of [
      ['/validate', validateReview(registry.host)],
      ['/mutate', mutateReview(registry.host, 'v1')],
    ] as const) {
      const echoIr = await instructionsPerRequest(echo, path, body, work);
      const webhookIr = await instructionsPerRequest(webhook, path, body, work);
      const baselineIr = baseline ? await instructionsPerRequest(baseline, path, body, work) : undefined;
      rows[path === '/mutate' ? '/mutate (warm)' : path] = row(echoIr, webhookIr, baselineIr);
    }
    console.log(
      `webhook over TLS under callgrind: ${REQUESTS} requests counted after ${WARMUP}, ${CONNECTIONS} connections, Node ${process.version}`,
    );
    if (tree) console.log(`webhook = this tree, baseline = ${tree.rev} (${tree.sha.slice(0, 12)}), same run`);
    console.table(rows);
    console.log(
      JSON.stringify({
        bench: 'webhook-instructions',
        warmup: WARMUP,
        requests: REQUESTS,
        ...(tree ? { baseline: { rev: tree.rev, sha: tree.sha } } : {}),
        ...rows,
      }),
    );
  } finally {
    await registry.stop();
    // A server under callgrind may still be writing its last dump: retry, and never hide the run's own error.
    try {
      rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (error) {
      console.error(`could not remove ${work}: ${(error as Error).message}`);
    }
  }
}
