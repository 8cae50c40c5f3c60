/**
 * The admission webhook over TLS as CPU instructions per request (valgrind's callgrind), against the bare fastify
 * HTTPS echo of `webhook.ts`: the same servers (`node bench/webhook.ts --serve`), each under callgrind with
 * instrumentation switched on only for the measured requests (after a warm-up), driven by autocannon with 4
 * connections (under callgrind a server runs ~50× slower; more connections time out and reconnect, and a TLS
 * handshake would be counted). Instruction counts do not depend on what else the machine runs, so this is the
 * A/B to use on a shared machine where CPU time per request moves by ±25 %; the counts still move by ~±5 %
 * between runs (the JIT compiles and the GC runs inside the window). Takes about 5 minutes.
 * Run: node bench/webhook-instructions.ts   (BENCH_WARMUP=N requests before counting, BENCH_REQUESTS=N counted)
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startRegistry } from '../test/helpers/registry.ts';
import { round } from './stats.ts';
import { mutateReview, pushBenchTags, validateReview } from './webhook-server.ts';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 1500);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 800);
const CONNECTIONS = 4;
const SERVER = fileURLToPath(new URL('./webhook.ts', import.meta.url));

/** Instructions per answered request of one server (`mode`) on one path. */
async function instructionsPerRequest(
  mode: 'echo' | 'webhook',
  path: string,
  body: string,
  args: Record<string, string>,
  work: string,
): Promise<number> {
  const out = join(work, `callgrind-${mode}-${path.slice(1)}.out`);
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${out}`,
      process.execPath,
      SERVER,
      '--serve',
      mode,
      JSON.stringify(args),
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
    if (failed > 0) throw new Error(`${mode} ${path}: ${failed} failed requests (a reconnect would be counted)`);
    // The dump of the measured window (the file written at exit holds what came after).
    for (const name of readdirSync(work).filter((file) => file.startsWith(`callgrind-${mode}-${path.slice(1)}`))) {
      const text = readFileSync(join(work, name), 'utf8');
      const summary = /^summary: (\d+)/m.exec(text);
      if (text.includes('Trigger: dump') && summary) return Number(summary[1]) / result.requests.total;
    }
    throw new Error(`${mode} ${path}: no callgrind dump`);
  } finally {
    child.kill('SIGTERM');
  }
}

if (import.meta.main) {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('webhook-instructions: valgrind is not installed; skipped');
    process.exit(0);
  }
  const work = mkdtempSync(join(tmpdir(), 'pinwarden-bench-instructions-'));
  execFileSync('sh', [fileURLToPath(new URL('../certs/make-dev-certs.sh', import.meta.url)), work], {
    stdio: 'ignore',
  });
  const registry = await startRegistry({ mode: 'plain' });
  try {
    await pushBenchTags(registry.host, ['v1']);
    const args = { cert: join(work, 'tls.crt'), key: join(work, 'tls.key'), registry: registry.host };
    const rows: Record<string, Record<string, number>> = {};
    for (const [path, body] of [
      ['/validate', validateReview(registry.host)],
      ['/mutate', mutateReview(registry.host, 'v1')],
    ] as const) {
      const echo = await instructionsPerRequest('echo', path, body, args, work);
      const webhook = await instructionsPerRequest('webhook', path, body, args, work);
      rows[path === '/mutate' ? '/mutate (warm)' : path] = {
        echoKIr: round(echo / 1000, 1),
        webhookKIr: round(webhook / 1000, 1),
        addedKIr: round((webhook - echo) / 1000, 1),
        // Read as a throughput ratio if both were bound by instructions alone.
        echoOverWebhook: round(echo / webhook),
      };
    }
    console.log(
      `webhook over TLS under callgrind: ${REQUESTS} requests counted after ${WARMUP}, ${CONNECTIONS} connections, Node ${process.version}`,
    );
    console.table(rows);
    console.log(JSON.stringify({ bench: 'webhook-instructions', warmup: WARMUP, requests: REQUESTS, ...rows }));
  } finally {
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
