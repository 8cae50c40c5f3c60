// Attacks found by the fuzzer (issue #7 item 11): an apiVersion or kind nested 5,000 deep overflowed the
// stack in the error path (HTTP 500); a 3 MB review got a 6 MB denial (the URL echoed twice); with
// `registry.onUnreachable: warn` the 120-character cut removed the cause from every warning. Defence: any
// malformed review is a 400, every answer is bounded (quoted values cut, the whole ≤ 64 KiB), warnings lead
// with the cause. Against the real `serve` on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { startFakeRegistry, sendJson } from '../helpers/fake-registry.ts';
import type { FakeRegistry } from '../helpers/fake-registry.ts';
import { reviewText, startServeProcess } from './serve-process.ts';
import type { ServeProcess } from './serve-process.ts';

const MAX_ANSWER = 64 * 1024;
let serve: ServeProcess;
let failing: FakeRegistry;
let blackHole: Server;
let blackHoleHost: string;
const sockets = new Set<Socket>();

before(async () => {
  failing = await startFakeRegistry((_request, res) =>
    sendJson(res, 503, { errors: [{ code: 'UNAVAILABLE', message: 'maintenance' }] }),
  );
  blackHole = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  blackHoleHost = `127.0.0.1:${(blackHole.address() as { port: number }).port}`;
  serve = await startServeProcess({
    policy:
      'ociRepository: {allowKeyBased: false, requireVerify: false, allowInsecure: true}\nregistry: {timeoutSeconds: 1, onUnreachable: warn, allowNetworks: ["127.0.0.0/8", "::1/128"]}',
  });
});

after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => blackHole.close(() => resolve()));
  await failing.stop();
  assert.equal(await serve.stop(), 0);
});

const deep = (depth: number, open = '[', close = ']'): string => `${open.repeat(depth)}1${close.repeat(depth)}`;

test('apiVersion or kind nested 5,000 (or 100,000) deep is a 400, never a 500; the process lives on', async () => {
  const bodies = [
    `{"apiVersion":${deep(5000)},"kind":"AdmissionReview","request":{"uid":"u"}}`,
    `{"apiVersion":"admission.k8s.io/v1","kind":${deep(5000, '{"a":', '}')},"request":{"uid":"u"}}`,
    `{"apiVersion":${deep(100_000)},"kind":"AdmissionReview","request":{"uid":"u"}}`,
    `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"OCIRepository","metadata":{"name":"x"},"spec":{"url":${deep(5000)}}}}}`,
  ];
  for (const body of bodies) {
    for (const path of ['/mutate', '/validate']) {
      const answer = await serve.post(`${path}?timeout=10s`, body);
      assert.equal(answer.status, 400, `${path}: ${answer.text.slice(0, 200)}`);
      assert.equal(answer.json.code, 'PW_REVIEW_MALFORMED');
    }
  }
  assert.ok(Number.isFinite(await serve.healthzMs()));
  assert.equal(serve.child.exitCode, null);
});

test('a 3 MB review gets a bounded answer: quoted values are cut, the whole answer stays under 64 KiB', async () => {
  const long = 'x'.repeat(2.9 * 1024 * 1024);
  const cases = [
    { what: 'a 2.9 MB ref.tag', body: reviewText({ url: 'oci://ghcr.io/acme/app', ref: { tag: long } }, 'big-1') },
    {
      what: 'a 2.9 MB name (denied: the denial names the object)',
      body: reviewText(
        { url: 'oci://ghcr.io/acme/app', ref: { tag: 'v1' }, verify: { provider: 'cosign', secretRef: { name: 'k' } } },
        'big-2',
        long,
      ),
    },
    { what: 'a 2.9 MB URL', body: reviewText({ url: `oci://${long}`, ref: { tag: 'v1' } }, 'big-3') },
  ];
  for (const { what, body } of cases) {
    for (const path of ['/mutate', '/validate']) {
      const answer = await serve.post(`${path}?timeout=10s`, body);
      assert.equal(answer.status, 200, `${what} ${path}`);
      assert.ok(answer.text.length <= MAX_ANSWER, `${what} ${path}: ${answer.text.length} bytes`);
      assert.ok(!answer.text.includes('x'.repeat(1000)), `${what} ${path}: a long run of the input is echoed`);
    }
  }
  const named = await serve.post('/validate?timeout=10s', cases[1]!.body);
  assert.equal(named.json.response.allowed, false);
  assert.match(named.json.response.status.message, /^pinwarden denied OCIRepository\/apps\/x+… \(rule default\):/);
  const denied = await serve.post('/validate?timeout=10s', cases[0]!.body);
  assert.equal(denied.json.response.allowed, false);
  assert.match(denied.json.response.status.message, /ref\.tag "x{200}…/);
});

test('a uid longer than any Kubernetes uid is malformed (it would be echoed)', async () => {
  const answer = await serve.post(
    '/validate?timeout=10s',
    reviewText({ url: 'oci://ghcr.io/acme/app' }, 'u'.repeat(100_000)),
  );
  assert.equal(answer.status, 400);
  assert.ok(answer.text.length < 1024);
});

test('onUnreachable: warn — every fault mode leaves the cause inside the 120-character warning', async () => {
  const modes = [
    // Retries of a 503 or a refused connection may use up the deadline on a loaded machine: then the cause is the deadline.
    { host: failing.host, cause: /PW_REGISTRY_UNREACHABLE\): .*503|PW_DEADLINE\): deadline exceeded/ },
    { host: blackHoleHost, cause: /PW_DEADLINE\): deadline exceeded/ },
    {
      host: '127.0.0.1:1',
      cause: /PW_REGISTRY_UNREACHABLE\): .*(ECONNREFUSED|refused)|PW_DEADLINE\): deadline exceeded/i,
    },
  ];
  for (const [index, mode] of modes.entries()) {
    const body = reviewText(
      { url: `oci://${mode.host}/acme/app`, insecure: true, ref: { tag: 'v1' } },
      `warn-${index}`,
    );
    const mutated = await serve.post('/mutate?timeout=10s', body);
    const validated = await serve.post('/validate?timeout=10s', body);
    assert.equal(validated.json.response.allowed, true, validated.text);
    for (const warning of [...mutated.json.response.warnings, ...validated.json.response.warnings] as string[]) {
      assert.ok(warning.length <= 120, warning);
      assert.match(warning, mode.cause, warning);
    }
  }
});
