// One real TLS smoke test of `serve`: certificates made by certs/make-dev-certs.sh, a real HTTPS request on
// 127.0.0.1, the metrics port, certificate rotation and policy reload without a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect } from 'node:tls';
import { createMemorySecretReader } from '../../../src/kube/index.ts';
import { createLogger } from '../../../src/runtime/index.ts';
import { startServe } from '../../../src/webhook/index.ts';
import type { RunningServe } from '../../../src/webhook/index.ts';
import { DIGEST_A, admissionReview, ociRepository } from '../../helpers/admission.ts';
import type { Loose } from '../../helpers/admission.ts';

/** Pinned objects only: this test must never reach for a registry beyond loopback. */
const pinned = (spec: Record<string, unknown> = {}): Record<string, unknown> =>
  ociRepository({ ref: { tag: 'v1', digest: DIGEST_A }, ...spec });

const SCRIPT = new URL('../../../certs/make-dev-certs.sh', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'pinwarden-serve-'));
const certs = join(work, 'certs');
const policyFile = join(work, 'policy.yaml');
const logs: Array<Record<string, unknown>> = [];
let server: RunningServe;
/** The CA of the certificate being served (changes with the rotation test). */
let currentCa = '';

function makeCerts(dir: string): void {
  execFileSync('sh', [SCRIPT, dir], { stdio: 'ignore' });
}

function writePolicy(spec: string): void {
  writeFileSync(
    `${policyFile}.tmp`,
    `apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: smoke}\nspec:\n  ${spec}\n`,
  );
  renameSync(`${policyFile}.tmp`, policyFile);
}

before(async () => {
  makeCerts(certs);
  currentCa = readFileSync(join(certs, 'ca.crt'), 'utf8');
  writePolicy('mode: enforce');
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  server = await startServe({
    port: 0,
    metricsPort: 0,
    host: '127.0.0.1',
    tlsCert: join(certs, 'tls.crt'),
    tlsKey: join(certs, 'tls.key'),
    config: policyFile,
    secrets: createMemorySecretReader(),
    logger: createLogger({ destination }),
    watch: { debounceMs: 50, pollMs: 200 },
  });
});

after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

function post(path: string, body: unknown, ca: string): Promise<{ status: number; json: Loose }> {
  return new Promise((resolve, reject) => {
    // agent: false — a fresh TLS handshake each time, so the certificate checked is the one served now.
    const req = request(
      `${server.webhookUrl}${path}?timeout=10s`,
      { method: 'POST', ca, agent: false, servername: 'localhost', headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function fetchText(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

/** The fingerprint of the certificate the server presents now (a fresh TLS connection each time). */
function servedFingerprint(): Promise<string> {
  const { port } = new URL(server.webhookUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: Number(port), rejectUnauthorized: false, servername: 'localhost' },
      () => {
        const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
        socket.end();
        resolve(fingerprint);
      },
    );
    socket.on('error', reject);
  });
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a real HTTPS /validate request, verified against the dev CA, TLS >= 1.2', async () => {
  const answer = await post('/validate', admissionReview(pinned({ verify: undefined }), { uid: 'tls-1' }), currentCa);
  assert.equal(answer.status, 200);
  assert.equal(answer.json.response.uid, 'tls-1');
  assert.equal(answer.json.response.allowed, false);
  const { port } = new URL(server.webhookUrl);
  // SECLEVEL=0 lets this client offer TLS 1.1 at all (OpenSSL 3 would refuse locally): the server's alert is the point.
  await assert.rejects(
    new Promise((resolve, reject) => {
      const socket = connect(
        {
          host: '127.0.0.1',
          port: Number(port),
          maxVersion: 'TLSv1.1',
          minVersion: 'TLSv1',
          ciphers: 'DEFAULT:@SECLEVEL=0',
          rejectUnauthorized: false,
        },
        () => resolve(socket),
      );
      socket.on('error', reject);
    }),
    { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' },
    'TLS 1.1 is refused by the server',
  );
});

test('metrics port: /healthz, /readyz, /metrics', async () => {
  assert.equal((await fetchText(`${server.metricsUrl}/healthz`)).status, 200);
  assert.equal((await fetchText(`${server.metricsUrl}/readyz`)).status, 200);
  const metrics = await fetchText(`${server.metricsUrl}/metrics`);
  assert.match(metrics.text, /pinwarden_webhook_requests_total\{route="validate",verdict="deny"\} 1/);
  assert.match(metrics.text, /pinwarden_process_resident_memory_bytes/);
});

test('certificate rotation: replaced files are served to new connections without a restart; a bad pair keeps the old one', async () => {
  const before = await servedFingerprint();
  assert.equal(before, new X509Certificate(readFileSync(join(certs, 'tls.crt'))).fingerprint256);

  writeFileSync(join(certs, 'tls.crt'), '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n');
  await eventually(
    async () => logs.some((line) => String(line.msg).startsWith('serving certificate not reloaded')),
    'the bad pair to be refused',
  );
  assert.equal(await servedFingerprint(), before, 'old certificate still served');

  const fresh = join(work, 'fresh');
  makeCerts(fresh);
  copyFileSync(join(fresh, 'tls.key'), join(certs, 'tls.key.new'));
  copyFileSync(join(fresh, 'tls.crt'), join(certs, 'tls.crt.new'));
  renameSync(join(certs, 'tls.key.new'), join(certs, 'tls.key'));
  renameSync(join(certs, 'tls.crt.new'), join(certs, 'tls.crt'));
  const expected = new X509Certificate(readFileSync(join(fresh, 'tls.crt'))).fingerprint256;
  await eventually(async () => (await servedFingerprint()) === expected, 'the new certificate to be served');
  await assert.rejects(
    post('/validate', admissionReview(pinned()), currentCa),
    { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
    'the old CA no longer verifies new connections',
  );
  currentCa = readFileSync(join(fresh, 'ca.crt'), 'utf8');
  const answer = await post('/validate', admissionReview(pinned(), { uid: 'tls-2' }), currentCa);
  assert.equal(answer.json.response.uid, 'tls-2');
});

test('policy reload: a new valid policy applies at once; an invalid one is logged and the old one stays', async () => {
  const ca = (): string => currentCa;
  const object = pinned({ verify: undefined });
  writePolicy('mode: warn');
  await eventually(
    async () => (await post('/validate', admissionReview(object), ca())).json.response.allowed === true,
    'warn mode',
  );
  writePolicy('mode: sometimes');
  await eventually(
    async () => logs.some((line) => line.code === 'PW_POLICY_INVALID'),
    'the invalid policy to be logged',
  );
  assert.equal(
    (await post('/validate', admissionReview(object), ca())).json.response.allowed,
    true,
    'still the warn policy',
  );
});

test('close(): readiness drops and the ports are released', async () => {
  const { port } = new URL(server.webhookUrl);
  await server.close();
  assert.equal(server.isReady(), false);
  await assert.rejects(
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false }, () =>
        resolve(socket),
      );
      socket.on('error', reject);
    }),
    { code: 'ECONNREFUSED' },
  );
});
