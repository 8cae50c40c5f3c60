/**
 * `node bench/hostile.ts [ROUNDS]`: what hostile input costs the real `pinwarden serve` (dist/main.js, run as
 * a child process on loopback), issue #7 items 5–7, each beside a baseline from the same run:
 * - memory: RSS over 200 sequential /mutate with a 2.9 MB spec.url, against 200 ordinary /mutate;
 * - event loop: /healthz latency (probed every 20 ms) while the worst objects are decided (16 adversarial
 *   identity regexes, 25,000 identity entries, a 256-character semver range against 5,000 tags), against
 *   /healthz on an idle server; ROUNDS repetitions each (default 3), medians of the per-round maxima;
 * - connections: 300 TLS connections announcing a 1 MiB body and trickling it: served / refused counts,
 *   when the held ones are closed, RSS at the peak against RSS before.
 * Prints JSON; figures go to BENCHMARKS.md ("Hostile input").
 */
import type { ServerResponse } from 'node:http';
import { sendJson, sendManifest, startFakeRegistry } from '../test/helpers/fake-registry.ts';
import { manifestBytes } from '../test/security/fixtures.ts';
import { openSlowClient, probeHealthzWhile, reviewText, startServeProcess } from '../test/security/serve-process.ts';
import type { ServeProcess, SlowClient } from '../test/security/serve-process.ts';
import { median, percentile, round } from './stats.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const MIB = 1024 * 1024;
const ISSUER = '^https://token\\.actions\\.githubusercontent\\.com$';
const POLICY = [
  'ociRepository:',
  '  allowKeyBased: false',
  '  requireVerify: false',
  '  allowInsecure: true',
  '  mutate: {semverToDigest: true}',
  `  allowedIdentities: [{issuer: '${ISSUER}', subject: '^https://github\\.com/acme/.*$'}]`,
  'registry: {allowNetworks: ["127.0.0.0/8", "::1/128"]}',
].join('\n');
const TAGS = Array.from({ length: 5000 }, (_, index) => `${Math.floor(index / 100)}.${index % 100}.0`);

async function memory(serve: ServeProcess): Promise<Record<string, unknown>> {
  const run = async (body: string): Promise<{ beforeMiB: number; afterMiB: number; grownMiB: number }> => {
    for (let index = 0; index < 20; index++) await serve.post('/mutate?timeout=10s', body);
    const before = serve.rssBytes();
    for (let index = 0; index < 200; index++) await serve.post('/mutate?timeout=10s', body);
    const after = serve.rssBytes();
    return {
      beforeMiB: round(before / MIB, 1),
      afterMiB: round(after / MIB, 1),
      grownMiB: round((after - before) / MIB, 1),
    };
  };
  const baseline = await run(
    reviewText({ url: 'oci://ghcr.io/acme/app', ref: { tag: 'v1', digest: `sha256:${'a'.repeat(64)}` } }),
  );
  const hostile = await run(reviewText({ url: `oci://ghcr.io/acme/${'a'.repeat(2.9 * MIB)}`, ref: { tag: 'v1' } }));
  return {
    baseline200Ordinary: baseline,
    hostile200With29MBUrl: hostile,
    rssRatioAfter: round(hostile.afterMiB / baseline.afterMiB, 2),
  };
}

async function healthzWhile(
  serve: ServeProcess,
  work: () => Promise<unknown>,
): Promise<{ maxMs: number; p50Ms: number; probes: number; workMs: number }> {
  const { latencies, workMs } = await probeHealthzWhile(serve, work, 30);
  const sorted = latencies.sort((a, b) => a - b);
  return {
    maxMs: round(Math.max(...sorted), 1),
    p50Ms: round(median(sorted), 1),
    probes: sorted.length,
    workMs: round(workMs, 0),
  };
}

async function eventLoop(serve: ServeProcess, registryHost: string): Promise<Record<string, unknown>> {
  const keyless = (identities: Array<{ issuer: string; subject: string }>): Record<string, unknown> => ({
    url: 'oci://ghcr.io/acme/app',
    ref: { tag: 'v1', digest: `sha256:${'a'.repeat(64)}` },
    verify: { provider: 'cosign', matchOIDCIdentity: identities },
  });
  const groups: string[] = [];
  for (let major = 0; groups.join(' || ').length < 230; major++) groups.push(`>=${major}.1.0 <${major}.2.0`);
  const range = groups.join(' || ');
  const scenarios: Record<string, (round: number) => Promise<unknown>> = {
    idle: () => new Promise((resolve) => setTimeout(resolve, 1000)),
    // Fresh patterns each round (a memo hit would measure nothing).
    adversarialIdentities16: (round) =>
      serve.post(
        '/validate?timeout=10s',
        reviewText(
          keyless(
            Array.from({ length: 16 }, (_, index) => ({
              issuer: ISSUER,
              subject: `^https://github\\.com/acme/r${round}/(a|b)*a(a|b){${24 + index}}$`,
            })),
          ),
        ),
      ),
    identityEntries25000: (round) =>
      serve.post(
        '/validate?timeout=10s',
        reviewText(
          keyless(
            Array.from({ length: 25_000 }, (_, index) => ({
              issuer: ISSUER,
              subject: `^https://github\\.com/acme/r${round}/app${index}(a|b)*$`,
            })),
          ),
        ),
      ),
    semver256Against5000Tags: (round) =>
      serve.post(
        '/mutate?timeout=10s',
        reviewText({ url: `oci://${registryHost}/acme/app${round}`, insecure: true, ref: { semver: range } }),
      ),
  };
  const out: Record<string, unknown> = {};
  for (const [name, work] of Object.entries(scenarios)) {
    const rounds: Array<Awaited<ReturnType<typeof healthzWhile>>> = [];
    for (let index = 0; index < ROUNDS; index++) rounds.push(await healthzWhile(serve, () => work(index)));
    out[name] = {
      healthzMaxMsMedian: round(median(rounds.map((entry) => entry.maxMs)), 1),
      healthzMaxMsWorst: round(Math.max(...rounds.map((entry) => entry.maxMs)), 1),
      healthzP50Ms: round(median(rounds.map((entry) => entry.p50Ms)), 1),
      reviewMsMedian: round(median(rounds.map((entry) => entry.workMs)), 0),
      probes: rounds.reduce((sum, entry) => sum + entry.probes, 0),
    };
  }
  return out;
}

async function connections(serve: ServeProcess): Promise<Record<string, unknown>> {
  const open = (): Promise<SlowClient> => openSlowClient(serve, MIB);
  const before = serve.rssBytes();
  const clients: SlowClient[] = [];
  for (let batch = 0; batch < 300; batch += 25) clients.push(...(await Promise.all(Array.from({ length: 25 }, open))));
  const trickle = setInterval(() => {
    for (const client of clients) if (client.closedAfterMs === undefined && client.connected) client.socket.write(' ');
  }, 1000);
  let peak = serve.rssBytes();
  const health: number[] = [];
  const deadline = performance.now() + 40_000;
  while (clients.some((client) => client.closedAfterMs === undefined) && performance.now() < deadline) {
    peak = Math.max(peak, serve.rssBytes());
    health.push(await serve.healthzMs());
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  clearInterval(trickle);
  const held = clients.filter((client) => client.status !== 503 && client.connected);
  const closeTimes = held.map((client) => client.closedAfterMs ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  for (const client of clients) client.socket.destroy();
  return {
    connections: clients.length,
    refused503Busy: clients.filter((client) => client.status === 503).length,
    refusedAtAccept: clients.filter((client) => !client.connected).length,
    heldUntilTimeout: held.length,
    stillOpenAfter40s: clients.filter((client) => client.closedAfterMs === undefined).length,
    heldClosedAfterMs: {
      min: round(closeTimes[0] ?? 0, 0),
      p50: round(median(closeTimes), 0),
      max: round(closeTimes.at(-1) ?? 0, 0),
    },
    rssBeforeMiB: round(before / MIB, 1),
    rssPeakMiB: round(peak / MIB, 1),
    healthzDuringMs: {
      p50: round(median(health), 1),
      p99: round(
        percentile(
          [...health].sort((a, b) => a - b),
          99,
        ),
        1,
      ),
      max: round(Math.max(...health), 1),
    },
  };
}

async function main(): Promise<void> {
  const registry = await startFakeRegistry((request, res: ServerResponse) => {
    if (/^\/v2\/acme\/app\d*\/tags\/list$/.test(request.path))
      return sendJson(res, 200, { name: 'acme/app', tags: TAGS });
    if (/^\/v2\/acme\/app\d*\/manifests\//.test(request.path))
      return sendManifest(res, manifestBytes(request.path), { head: request.method === 'HEAD' });
    return false;
  });
  const results: Record<string, unknown> = { rounds: ROUNDS };
  let serve = await startServeProcess({ policy: POLICY });
  try {
    results.memory = await memory(serve);
    results.eventLoop = await eventLoop(serve, registry.host);
  } finally {
    await serve.stop();
  }
  // A fresh process, so the connection figures are not coloured by the runs above.
  serve = await startServeProcess({ policy: POLICY });
  try {
    results.slowConnections = await connections(serve);
  } finally {
    results.exitCodeOnSigterm = await serve.stop();
    await registry.stop();
  }
  console.log(JSON.stringify(results, null, 2));
}

await main();
