/**
 * `node bench/fuzz-reviews.ts [COUNT] [SEED]`: a seeded fuzz run of mutated AdmissionReviews (default 100,000)
 * against the real `pinwarden serve` process (dist/main.js) over TLS, beside a real `docker-registry` that the
 * policy allows, so /mutate pins for real. Not a unit test: it takes minutes and reports figures.
 *
 * Each review starts from one of a few realistic seeds and gets one to three mutations drawn by fast-check:
 * a value replaced by arbitrary JSON, a key deleted, a string blown up (up to 1 MiB), a container nested thousands
 * deep, an identity list multiplied, a pathological regex, an odd content type, a truncated body, a review
 * without a `request`. Reviews go to /mutate and /validate alternately, 16 in flight, each with
 * `?timeout=10s`, while a probe times `/healthz` every 50 ms.
 *
 * The run passes when: no HTTP 5xx (the documented fail-closed answer is an AdmissionReview with HTTP 200 and
 * `status.code: 500`, counted apart), the process never exits, no review took longer than its deadline, and
 * SIGTERM still ends it with exit 0. Exit 1 otherwise.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { pushImage } from '../test/helpers/push-image.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { median, percentile, round } from './stats.ts';

const COUNT = Number(process.argv[2] ?? 100_000);
const SEED = Number(process.argv[3] ?? 20261202);
const IN_FLIGHT = 16;
const DEADLINE_MS = 10_000;
/** What the apiserver can send (3 MiB), the webhook's body limit. */
const BODY_LIMIT = 3 * 1024 * 1024;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Sent {
  path: '/mutate' | '/validate';
  body: string;
  contentType: string;
}

function seeds(registry: string): Json[] {
  const identity = {
    issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
    subject: '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v1$',
  };
  const oci = (spec: Record<string, Json>, apiVersion = 'source.toolkit.fluxcd.io/v1'): Json => ({
    apiVersion,
    kind: 'OCIRepository',
    metadata: { name: 'app', namespace: 'apps', annotations: { a: 'b' } },
    spec: {
      interval: '5m',
      url: `oci://${registry}/fuzz/app`,
      insecure: true,
      ref: { tag: 'v1' },
      verify: { provider: 'cosign', matchOIDCIdentity: [identity] },
      ...spec,
    },
  });
  return [
    oci({}),
    oci({ ref: { semver: '>=1.0.0 <2.0.0' } }, 'source.toolkit.fluxcd.io/v1beta2'),
    oci({
      ref: { tag: 'v1', digest: `sha256:${'c'.repeat(64)}` },
      secretRef: { name: 'pull' },
      certSecretRef: { name: 'tls' },
    }),
    oci({ url: 'oci://ghcr.io/elsewhere/app', verify: { provider: 'cosign', secretRef: { name: 'cosign-pub' } } }),
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'Bucket',
      metadata: { name: 'b', namespace: 'apps' },
      spec: { bucketName: 'x', endpoint: 'minio:9000', interval: '5m', ignore: '/*\n!/deploy' },
    },
  ];
}

function review(object: Json, operation: string, oldObject: Json): Json {
  const kind = (object as { kind?: Json })?.kind ?? 'OCIRepository';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '9d1c2b3a-0000-4000-8000-000000000001',
      kind: { group: 'source.toolkit.fluxcd.io', version: 'v1', kind },
      resource: { group: 'source.toolkit.fluxcd.io', version: 'v1', resource: 'ocirepositories' },
      namespace: 'apps',
      operation,
      userInfo: { username: 'tenant', groups: ['system:authenticated'] },
      object,
      oldObject,
      dryRun: false,
    },
  };
}

/** Paths to the nodes of a JSON value (down to depth 16, so an earlier deep mutation stays cheap to walk). */
function paths(value: Json): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [];
  const stack: Array<{ node: Json; path: Array<string | number> }> = [{ node: value, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    out.push(path);
    if (path.length >= 16 || node === null || typeof node !== 'object') continue;
    const entries: Array<[string | number, Json]> = Array.isArray(node)
      ? node.map((item, index) => [index, item])
      : Object.entries(node);
    for (const [key, item] of entries.slice(0, 64)) stack.push({ node: item, path: [...path, key] });
  }
  return out;
}

function setAt(root: Json, path: Array<string | number>, replace: (old: Json) => Json | undefined): Json {
  if (path.length === 0) return replace(root) ?? null;
  let parent = root as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) parent = parent[key as string] as Record<string | number, Json>;
  const last = path[path.length - 1] as string | number;
  const replacement = replace(parent[last as string] ?? null);
  if (replacement !== undefined) parent[last as string] = replacement;
  else if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete parent[last as string];
  return root;
}

/** Deep nesting is spliced in as text: building it as objects would overflow JSON.stringify here first. */
const NEST_MARK = '\u0000nest:';
function nestMarker(depth: number, asArray: boolean): string {
  return `${NEST_MARK}${depth}:${asArray ? 'array' : 'object'}`;
}

/** Beyond this much spliced nesting a marker becomes `1`: a marker copied 30,000 times (a multiplied identity) would need gigabytes. */
const MAX_SPLICED = 8 << 20;

function spliceNesting(body: string): string {
  let spliced = 0;
  return body.replace(/"\\u0000nest:(\d+):(array|object)"/g, (_match, depth: string, shape: string) => {
    const count = Number(depth);
    spliced += count * (shape === 'array' ? 2 : 6);
    if (spliced > MAX_SPLICED) return '1';
    return shape === 'array'
      ? `${'['.repeat(count)}1${']'.repeat(count)}`
      : `${'{"a":'.repeat(count)}1${'}'.repeat(count)}`;
  });
}

type Mutation = (value: Json, pick: number) => Json;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map(
    (replacement): Mutation =>
      (value, pick) =>
        at(value, pick, () => replacement as Json),
  ),
  fc.constant<Mutation>((value, pick) => at(value, pick, () => undefined)),
  fc.integer({ min: 0, max: 20 }).map(
    (bits): Mutation =>
      (value, pick) =>
        at(value, pick, (old) => blowUp(typeof old === 'string' && old.length > 0 ? old.slice(0, 64) : 'x', 1 << bits)),
  ),
  fc.tuple(fc.integer({ min: 100, max: 6000 }), fc.boolean()).map(
    ([depth, asArray]): Mutation =>
      (value, pick) =>
        at(value, pick, () => nestMarker(depth, asArray)),
  ),
  fc.integer({ min: 2, max: 30_000 }).map(
    (copies): Mutation =>
      (value) =>
        multiplyIdentities(value, copies),
  ),
  fc.constantFrom('(a|b)*a(a|b){30}', '(x+x+)+y', '(?=a)', '\\', '[', '.*'.repeat(500), '\\p{Greek}+(?i)Σ', '^$').map(
    (pattern): Mutation =>
      (value) =>
        setIdentity(value, pattern),
  ),
  fc.string({ unit: 'binary', maxLength: 64 }).map(
    (text): Mutation =>
      (value, pick) =>
        at(value, pick, () => text),
  ),
);

function blowUp(text: string, size: number): string {
  return text.repeat(Math.ceil(size / text.length)).slice(0, size);
}

function at(value: Json, pick: number, replace: (old: Json) => Json | undefined): Json {
  const all = paths(value);
  return setAt(value, all[pick % all.length] ?? [], replace);
}

function multiplyIdentities(value: Json, copies: number): Json {
  const verify = (value as null | { request?: { object?: { spec?: { verify?: { matchOIDCIdentity?: Json[] } } } } })
    ?.request?.object?.spec?.verify;
  const first = verify?.matchOIDCIdentity?.[0];
  if (verify === undefined || first === undefined) return value;
  // Bodies stay near what an apiserver could send (3 MiB), so the list is as long as that allows.
  const fit = Math.floor((4 << 20) / (JSON.stringify(first).length + 1));
  verify.matchOIDCIdentity = Array.from({ length: Math.min(copies, fit) }, () => structuredClone(first));
  return value;
}

function setIdentity(value: Json, pattern: string): Json {
  const first = (
    value as null | {
      request?: { object?: { spec?: { verify?: { matchOIDCIdentity?: Array<Record<string, Json>> } } } };
    }
  )?.request?.object?.spec?.verify?.matchOIDCIdentity?.[0];
  if (typeof first === 'object' && first !== null && !Array.isArray(first)) first.subject = pattern;
  return value;
}

const framing = fc.oneof(
  { weight: 20, arbitrary: fc.constant('plain') },
  fc.constantFrom('truncated', 'no-request', 'text/plain', 'bare-array'),
);

/** One thunk per review, built when sent: 100,000 bodies of up to 1 MiB would not fit in memory at once. */
function generate(registry: string): Array<() => Sent> {
  const base = seeds(registry);
  const arbitrary = fc.record({
    seed: fc.nat(base.length - 1),
    update: fc.boolean(),
    mutations: fc.array(fc.tuple(mutation, fc.nat()), { minLength: 1, maxLength: 3 }),
    framing,
  });
  const drawn = fc.sample(arbitrary, { numRuns: COUNT, seed: SEED });
  return drawn.map((draw, index) => () => {
    const object = structuredClone(base[draw.seed] ?? null);
    let value = review(object, draw.update ? 'UPDATE' : 'CREATE', draw.update ? structuredClone(object) : null);
    for (const [mutate, pick] of draw.mutations) value = mutate(value, pick);
    let body = spliceNesting(JSON.stringify(value));
    let contentType = 'application/json';
    if (draw.framing === 'truncated') body = body.slice(0, Math.max(1, Math.floor(body.length / 2)));
    if (draw.framing === 'no-request')
      body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    if (draw.framing === 'text/plain') contentType = 'text/plain';
    if (draw.framing === 'bare-array') body = '[]';
    return { path: index % 2 === 0 ? '/mutate' : '/validate', body, contentType };
  });
}

interface Outcome {
  status: number;
  ms: number;
  failClosed: boolean;
  error?: string;
}

function send(port: number, agent: Agent, sent: Sent): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `${sent.path}?timeout=10s`,
        method: 'POST',
        agent,
        rejectUnauthorized: false,
        headers: { 'content-type': sent.contentType, 'content-length': Buffer.byteLength(sent.body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            ms: performance.now() - started,
            failClosed: /"code":500/.test(text) && res.statusCode === 200,
          });
        });
      },
    );
    req.setTimeout(DEADLINE_MS * 3, () => req.destroy(new Error('client timeout')));
    // Over the body limit the server may answer 413 and close before the whole body is written: the client
    // then sees EPIPE/ECONNRESET. That is the limit working, counted apart from real transport failures.
    const oversize = Buffer.byteLength(sent.body) > BODY_LIMIT;
    req.on('error', (error) =>
      resolve({ status: oversize ? 413 : 0, ms: performance.now() - started, failClosed: false, error: error.message }),
    );
    req.end(sent.body);
  });
}

function healthz(url: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = httpGet(`${url}/healthz`, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    });
    req.setTimeout(5_000, () => req.destroy());
    req.on('error', () => resolve(Number.POSITIVE_INFINITY));
  });
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'pinwarden-fuzz-'));
  const registry = await startRegistry();
  const children: Array<ReturnType<typeof spawn>> = [];
  try {
    await pushImage({ host: registry.host, path: 'fuzz/app', insecure: true }, 'v1');
    await pushImage({ host: registry.host, path: 'fuzz/app', insecure: true }, '1.2.3');
    execFileSync('sh', [join(ROOT, 'certs', 'make-dev-certs.sh'), work], { stdio: 'ignore' });
    const policyFile = join(work, 'policy.yaml');
    writeFileSync(policyFile, policyText(registry.host));
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'dist', 'main.js'),
        'serve',
        '--port',
        '0',
        '--metrics-port',
        '0',
        '--host',
        '127.0.0.1',
        '--tls-cert',
        join(work, 'tls.crt'),
        '--tls-key',
        join(work, 'tls.key'),
        '--config',
        policyFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)));
    let exitedEarly: number | null | undefined;
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (code) => {
        exitedEarly = code;
        resolve(code);
      }),
    );
    const { webhook, metrics } = await servingUrls(child);
    child.stdout.resume(); // logs are not needed past the serving line; keep the pipe drained
    const port = Number(new URL(webhook).port);

    const reviews = generate(registry.host);
    console.log(`fuzz: ${reviews.length} reviews (seed ${SEED}), ${IN_FLIGHT} in flight, against ${webhook}`);
    const health: number[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        health.push(await healthz(metrics));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    const outcomes: Outcome[] = [];
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < reviews.length && exitedEarly === undefined) {
          const build = reviews[next++];
          if (build) outcomes.push(await send(port, agent, build()));
          if (outcomes.length % 5000 === 0) progress(outcomes, health, performance.now() - started);
        }
      }),
    );
    const elapsed = performance.now() - started;
    probing = false;
    await probe;
    agent.destroy();
    const alive = exitedEarly === undefined;
    child.kill('SIGTERM');
    const code = await exited;
    return report(outcomes, health, elapsed, alive, code, stderr);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** A line every 5,000 reviews, so a run cut short still reports what it saw. */
function progress(outcomes: Outcome[], health: number[], elapsedMs: number): void {
  const http5xx = outcomes.filter((outcome) => outcome.status >= 500).length;
  const overDeadline = outcomes.filter((outcome) => outcome.ms > DEADLINE_MS).length;
  const transport = outcomes.filter((outcome) => outcome.status === 0).length;
  const finite = health.filter(Number.isFinite);
  console.log(
    `progress: ${outcomes.length} reviews in ${round(elapsedMs / 1000, 0)} s; http5xx ${http5xx}, transport errors ${transport}, over deadline ${overDeadline}, healthz max ${round(Math.max(0, ...finite), 0)} ms (${health.length - finite.length} failed)`,
  );
}

function policyText(host: string): string {
  return `apiVersion: pinwarden.dev/v1alpha1
kind: SourcePolicy
metadata: {name: fuzz}
spec:
  ociRepository:
    allowInsecure: true
    allowKeyBased: false
    allowedIdentities: [{issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/'}]
    allowedRegistries: ['oci://${host}/fuzz/']
    mutate: {tagToDigest: true, semverToDigest: true}
  registry: {timeoutSeconds: 2, cacheTTLSeconds: 60, allowNetworks: ['127.0.0.0/8']}
`;
}

async function servingUrls(child: ReturnType<typeof spawn>): Promise<{ webhook: string; metrics: string }> {
  for await (const line of createInterface({ input: child.stdout! })) {
    try {
      const entry = JSON.parse(line) as { msg?: string; webhook?: string; metrics?: string };
      if (entry.msg === 'pinwarden serving' && entry.webhook && entry.metrics)
        return { webhook: entry.webhook, metrics: entry.metrics };
    } catch {
      // not a JSON line: keep reading
    }
  }
  throw new Error('pinwarden serve exited before it was serving');
}

function report(
  outcomes: Outcome[],
  health: number[],
  elapsedMs: number,
  alive: boolean,
  exitCode: number | null,
  stderr: string,
): number {
  const byStatus = new Map<number, number>();
  for (const outcome of outcomes) byStatus.set(outcome.status, (byStatus.get(outcome.status) ?? 0) + 1);
  const server5xx = outcomes.filter((outcome) => outcome.status >= 500).length;
  const failClosed = outcomes.filter((outcome) => outcome.failClosed).length;
  const transportErrors = outcomes.filter((outcome) => outcome.status === 0);
  const overDeadline = outcomes.filter((outcome) => outcome.ms > DEADLINE_MS).length;
  const latencies = outcomes.map((outcome) => outcome.ms).sort((a, b) => a - b);
  const finiteHealth = health.filter(Number.isFinite).sort((a, b) => a - b);
  const summary = {
    reviews: outcomes.length,
    seconds: round(elapsedMs / 1000, 1),
    status: Object.fromEntries([...byStatus].sort(([a], [b]) => a - b)),
    http5xx: server5xx,
    failClosedAnswers: failClosed,
    transportErrors: transportErrors.length,
    firstTransportError: transportErrors[0]?.error,
    overDeadline,
    reviewMs: {
      p50: round(median(latencies), 2),
      p99: round(percentile(latencies, 99), 1),
      max: round(Math.max(...latencies), 1),
    },
    healthzMs: {
      probes: health.length,
      failed: health.length - finiteHealth.length,
      p50: round(median(finiteHealth), 2),
      p99: round(percentile(finiteHealth, 99), 1),
      max: round(Math.max(...finiteHealth), 1),
    },
    aliveAtEnd: alive,
    exitCodeOnSigterm: exitCode,
  };
  console.log(JSON.stringify(summary, null, 2));
  const passed =
    outcomes.length === COUNT &&
    server5xx === 0 &&
    transportErrors.length === 0 &&
    overDeadline === 0 &&
    alive &&
    exitCode === 0;
  if (!passed) console.error(`fuzz FAILED; server stderr tail:\n${stderr.slice(-4000)}`);
  console.log(passed ? 'fuzz passed' : 'fuzz failed');
  return passed ? 0 : 1;
}

process.exit(await main());
