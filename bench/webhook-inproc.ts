/**
 * The webhook's own per-request cost, without TLS or sockets: the same server `bench/webhook.ts` runs (real
 * flows, metrics, JSON logs to /dev/null) and a bare fastify JSON echo, both driven in this process through
 * fastify's `inject()`, alternating rounds, medians. Reports µs per request and the difference to the echo
 * (what the admission work adds). Times are this process's CPU time (user + system), not wall time, so other
 * load on the machine disturbs them less. Warm `/mutate` needs one registry HEAD first (Debian's `docker-registry`).
 * Run: node bench/webhook-inproc.ts   (BENCH_REQUESTS=N per round, BENCH_ROUNDS=N; add --cpu-prof to profile)
 */
import { fastify } from 'fastify';
import type { FastifyInstance } from 'fastify';
import { startRegistry } from '../test/helpers/registry.ts';
import { median, round } from './stats.ts';
import { buildBenchWebhook, mutateReview, pushBenchTags, validateReview } from './webhook-server.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

async function perRequestUs(app: FastifyInstance, url: string, payload: string): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) {
    const response = await app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload,
    });
    if (response.statusCode !== 200) throw new Error(`${url}: HTTP ${response.statusCode} ${response.body}`);
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / REQUESTS;
}

async function compare(echo: FastifyInstance, hook: FastifyInstance, url: string, body: string) {
  await perRequestUs(echo, '/echo', body);
  await perRequestUs(hook, url, body);
  const echoUs: number[] = [];
  const hookUs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    echoUs.push(await perRequestUs(echo, '/echo', body));
    hookUs.push(await perRequestUs(hook, url, body));
  }
  const added = hookUs.map((us, index) => us - (echoUs[index] ?? Number.NaN));
  return {
    echoUs: round(median(echoUs), 1),
    webhookUs: round(median(hookUs), 1),
    addedUs: round(median(added), 1),
    ratio: round(median(hookUs.map((us, index) => (echoUs[index] ?? Number.NaN) / us))),
  };
}

if (import.meta.main) {
  const registry = await startRegistry({ mode: 'plain' });
  try {
    await pushBenchTags(registry.host, ['v1']);
    const echo = fastify({ bodyLimit: 3 * 1024 * 1024 });
    echo.post('/echo', async (request) => request.body);
    await echo.ready();
    const hook = buildBenchWebhook(registry.host);
    await hook.ready();
    const validate = await compare(echo, hook, '/validate', validateReview(registry.host));
    const warmMutate = await compare(echo, hook, '/mutate', mutateReview(registry.host, 'v1'));
    console.log(`inject(): ${REQUESTS} requests x ${ROUNDS} rounds, medians, Node ${process.version}`);
    console.table({ '/validate': validate, '/mutate (warm)': warmMutate });
    console.log(JSON.stringify({ bench: 'webhook-inproc', requests: REQUESTS, rounds: ROUNDS, validate, warmMutate }));
    await hook.close();
    await echo.close();
  } finally {
    await registry.stop();
  }
}
