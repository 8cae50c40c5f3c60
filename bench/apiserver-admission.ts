/**
 * `node bench/apiserver-admission.ts [COUNT]` (issue #8): COUNT (default 1,000) OCIRepository creates through
 * a real kube-apiserver, without pinwarden's webhooks and with them, alternating in the same run. Reports the
 * throughput ratio (with ÷ without; target ≥ 0.8) and the apiserver's own
 * `apiserver_admission_webhook_admission_duration_seconds` p50/p99 per pinwarden webhook, warm (every object
 * names a tag already in pinwarden's cache) and cold (every object names a tag never resolved: one registry
 * lookup each, on the loopback docker-registry). Target: warm p99 ≤ 5 ms per webhook.
 *
 * The apiserver's histogram has coarse buckets (5 ms, 25 ms, 100 ms, …): quantiles are interpolated inside
 * a bucket like Prometheus' histogram_quantile, and the share of calls ≤ 5 ms is printed exactly.
 */
import { loadavg } from 'node:os';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { get } from '../test/support/control-plane.ts';
import { registerWebhooks, unregisterWebhooks, waitForWebhooks } from '../test/support/pinwarden.ts';
import { startWebhookEnv } from '../test/support/webhook-env.ts';
import type { WebhookEnv } from '../test/support/webhook-env.ts';
import { median, round } from './stats.ts';

const COUNT = Number(process.argv[2] ?? 1000);
// Creates in flight: 16 measures throughput; BENCH_IN_FLIGHT=1 measures latency without queueing for the 2 cores.
const CONCURRENCY = Number(process.env.BENCH_IN_FLIGHT ?? 16);
const ROUNDS = 3;
const COLD = Math.min(COUNT, 300);
const WEBHOOKS = ['mutate.pinwarden.dev', 'validate.pinwarden.dev'] as const;

type Buckets = Map<string, Map<number, number>>;

/** Cumulative bucket counts of the apiserver's admission-duration histogram, per webhook name. */
async function admissionHistogram(env: WebhookEnv): Promise<Buckets> {
  const { body } = await get(`${env.cp.url}/metrics`, env.cp.ca.certPem, env.cp.admin);
  return parseHistogram(body, 'apiserver_admission_webhook_admission_duration_seconds', /name="([^"]+)"/);
}

/** pinwarden's own request-duration histogram, per route, as `mutate.pinwarden.dev` / `validate.pinwarden.dev`. */
async function pinwardenHistogram(env: WebhookEnv): Promise<Buckets> {
  const parsed = parseHistogram(
    await env.pw.metrics(),
    'pinwarden_webhook_request_duration_seconds',
    /route="\/?([^"]+)"/,
  );
  return new Map([...parsed].map(([route, buckets]) => [`${route.replace(/^\//, '')}.pinwarden.dev`, buckets]));
}

function parseHistogram(body: string, metric: string, key: RegExp): Buckets {
  const out: Buckets = new Map();
  for (const line of body.split('\n')) {
    if (!line.startsWith(`${metric}_bucket{`)) continue;
    const name = key.exec(line)?.[1];
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!name || !le) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    const buckets = out.get(name) ?? new Map<number, number>();
    buckets.set(bound, (buckets.get(bound) ?? 0) + value);
    out.set(name, buckets);
  }
  return out;
}

function delta(after: Buckets, before: Buckets, name: string): Array<[number, number]> {
  const a = after.get(name) ?? new Map<number, number>();
  const b = before.get(name) ?? new Map<number, number>();
  return [...a.entries()]
    .map(([bound, count]) => [bound, count - (b.get(bound) ?? 0)] as [number, number])
    .sort((x, y) => x[0] - y[0]);
}

/** histogram_quantile: linear interpolation inside the bucket holding the q-th observation (seconds → ms). */
function quantile(buckets: Array<[number, number]>, q: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(bound)) return lowerBound * 1000;
      return (lowerBound + (bound - lowerBound) * ((rank - lowerCount) / Math.max(1, count - lowerCount))) * 1000;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return Number.NaN;
}

function shareAtMost(buckets: Array<[number, number]>, seconds: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  const at = buckets.find(([bound]) => Math.abs(bound - seconds) < 1e-9)?.[1] ?? Number.NaN;
  return total === 0 ? Number.NaN : at / total;
}

async function createMany(
  env: WebhookEnv,
  namespace: string,
  count: number,
  tagOf: (index: number) => string,
): Promise<number> {
  const api = env.cp.kubeConfig().makeApiClient(CustomObjectsApi);
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const body = env.repo({ namespace, name: `app-${index}`, ref: { tag: tagOf(index) } });
      await api.createNamespacedCustomObject({
        group: 'source.toolkit.fluxcd.io',
        version: 'v1',
        namespace,
        plural: 'ocirepositories',
        body,
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
  return (count / (performance.now() - started)) * 1000;
}

async function main(): Promise<void> {
  console.log(
    `load average before: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} (2 cores shared)`,
  );
  const env = await startWebhookEnv({ tags: ['1.0.0'] });
  try {
    // Tags for the cold round: same content, distinct tags, so every lookup misses pinwarden's cache.
    for (let index = 0; index < COLD; index++) await env.push(`cold-${index}`, 'cold');
    const without: number[] = [];
    const withHooks: number[] = [];
    const accumulate =
      (into: Map<string, Array<[number, number]>>) =>
      (after: Buckets, before: Buckets): void => {
        for (const name of WEBHOOKS) {
          const sum = into.get(name) ?? [];
          into.set(
            name,
            delta(after, before, name).map(([bound, count], index) => [bound, count + (sum[index]?.[1] ?? 0)]),
          );
        }
      };
    const warm = new Map<string, Array<[number, number]>>();
    const own = new Map<string, Array<[number, number]>>();
    const addWarm = accumulate(warm);
    const addOwn = accumulate(own);
    for (let round_ = 0; round_ < ROUNDS; round_++) {
      await unregisterWebhooks(env.cp);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      without.push(await createMany(env, await env.namespace('bench-off'), COUNT, () => '1.0.0'));
      await registerWebhooks(env.cp, env.pw);
      await waitForWebhooks(env.cp, env.pw);
      const ns = await env.namespace('bench-on');
      const before = await admissionHistogram(env);
      const ownBefore = await pinwardenHistogram(env);
      withHooks.push(await createMany(env, ns, COUNT, () => '1.0.0'));
      const after = await admissionHistogram(env);
      addWarm(after, before);
      addOwn(await pinwardenHistogram(env), ownBefore);
      console.log(`round ${round_ + 1}: without ${round(without.at(-1)!, 1)}/s, with ${round(withHooks.at(-1)!, 1)}/s`);
    }
    const coldBefore = await admissionHistogram(env);
    const coldRate = await createMany(env, await env.namespace('bench-cold'), COLD, (index) => `cold-${index}`);
    const coldAfter = await admissionHistogram(env);
    console.log(`\ncreates/s without webhooks (median of ${ROUNDS}): ${round(median(without), 1)}`);
    console.log(`creates/s with pinwarden's webhooks, warm (median of ${ROUNDS}): ${round(median(withHooks), 1)}`);
    console.log(`ratio with ÷ without: ${round(median(withHooks) / median(without), 2)} (target ≥ 0.8)`);
    console.log(`creates/s with webhooks, cold (${COLD} distinct tags): ${round(coldRate, 1)}`);
    console.log('\napiserver_admission_webhook_admission_duration_seconds, per webhook (all warm rounds; cold round):');
    for (const name of WEBHOOKS) {
      const hot = warm.get(name)!;
      const cold = delta(coldAfter, coldBefore, name);
      console.log(
        `  ${name}: warm n=${hot.at(-1)?.[1]} p50 ${round(quantile(hot, 0.5), 2)} ms, p99 ${round(quantile(hot, 0.99), 2)} ms, ≤5 ms ${round(shareAtMost(hot, 0.005) * 100, 1)}%;` +
          ` cold n=${cold.at(-1)?.[1]} p50 ${round(quantile(cold, 0.5), 2)} ms, p99 ${round(quantile(cold, 0.99), 2)} ms, ≤5 ms ${round(shareAtMost(cold, 0.005) * 100, 1)}%`,
      );
    }
    console.log(
      "pinwarden's own pinwarden_webhook_request_duration_seconds over the warm rounds (its answer time, no TLS/network):",
    );
    for (const name of WEBHOOKS) {
      const mine = own.get(name)!;
      console.log(
        `  ${name}: n=${mine.at(-1)?.[1]} p50 ${round(quantile(mine, 0.5), 2)} ms, p99 ${round(quantile(mine, 0.99), 2)} ms`,
      );
    }
    console.log(
      `  apiserver buckets (s): ${warm
        .get(WEBHOOKS[0])!
        .map(([bound]) => bound)
        .join(', ')}`,
    );
    console.log(
      `load average after: ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await env.stop();
  }
}

await main();
