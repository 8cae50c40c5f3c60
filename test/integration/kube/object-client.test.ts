// The apply engine's Kubernetes client against a local HTTP API stand-in: every call has a deadline, answers
// are capped, a Status refusal keeps the apiserver's status, reason and message, impersonation headers are sent,
// discovery decides the path and scope (and re-reads once for a kind it did not know).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, createObjectClient } from '../../../src/kube/index.ts';
import { isPinwardenError } from '../../../src/core/errors.ts';
import { closeServer } from '../../helpers/close-server.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let server: Server;
let handler: Handler;
const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }> = [];
let widgetsKnown = false;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      if (req.url === '/api/v1')
        return json(res, 200, {
          resources: [
            { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
            { name: 'configmaps/status', kind: 'ConfigMap', namespaced: true },
            { name: 'namespaces', kind: 'Namespace', namespaced: false },
          ],
        });
      if (req.url === '/apis/example.com/v1')
        return json(res, 200, {
          resources: widgetsKnown ? [{ name: 'widgets', kind: 'Widget', namespaced: false }] : [],
        });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
after(() => closeServer(server));

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function config(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: 'u', token: 'secret-token-value' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns' }, data: { k: 'v' } };

test('server-side apply: PATCH apply-patch+yaml with fieldManager, force and dryRun; impersonation headers sent', async () => {
  handler = (_req, res, body) =>
    json(res, 200, { ...JSON.parse(body), metadata: { ...cm.metadata, resourceVersion: '7' } });
  const client = createObjectClient(config(), {
    impersonate: { user: 'system:serviceaccount:ns:deployer', groups: ['team-a'] },
  });
  const result = await client.apply(cm, { fieldManager: 'pinwarden', force: true, dryRun: true });
  assert.equal(result.metadata.resourceVersion, '7');
  const call = seen.at(-1)!;
  assert.equal(call.method, 'PATCH');
  assert.equal(call.url, '/api/v1/namespaces/ns/configmaps/a?fieldManager=pinwarden&force=true&dryRun=All');
  assert.equal(call.headers['content-type'], 'application/apply-patch+yaml');
  assert.equal(call.headers['impersonate-user'], 'system:serviceaccount:ns:deployer');
  assert.equal(call.headers['impersonate-group'], 'team-a');
  assert.equal(call.headers.authorization, 'Bearer secret-token-value');
});

test('a Status refusal is a KubeApiError with the status, reason and message; the token never appears', async () => {
  handler = (_req, res) =>
    json(res, 422, {
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      message: 'ConfigMap "a" is invalid: data: Too many',
      code: 422,
    });
  const client = createObjectClient(config());
  await assert.rejects(client.apply(cm, { fieldManager: 'pinwarden' }), (error: unknown) => {
    assert.ok(error instanceof KubeApiError);
    assert.deepEqual(
      [error.httpStatus, error.apiReason, error.apiMessage],
      [422, 'Invalid', 'ConfigMap "a" is invalid: data: Too many'],
    );
    assert.doesNotMatch(error.message, /secret-token-value/);
    return true;
  });
  handler = (_req, res) => json(res, 404, { kind: 'Status', reason: 'NotFound', code: 404 });
  assert.equal(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'a' }), undefined);
  assert.equal(await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'a' }), false);
});

test('every call has a deadline: a silent apiserver is PW_DEADLINE within the timeout', async () => {
  handler = () => undefined; // never answers
  const client = createObjectClient(config(), { timeoutMs: 300 });
  const started = Date.now();
  await assert.rejects(
    client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'a' }),
    (error: unknown) => isPinwardenError(error) && error.code === 'PW_DEADLINE',
  );
  assert.ok(Date.now() - started < 10_000);
});

test('answers over the cap are refused', async () => {
  handler = (_req, res) => json(res, 200, { ...cm, data: { big: 'x'.repeat(64 * 1024) } });
  const client = createObjectClient(config(), { maxResponseBytes: 16 * 1024 });
  await assert.rejects(
    client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'a' }),
    /over 16384 bytes/,
  );
});

test('discovery: cluster-scoped kinds drop the namespace, a kind learnt later is found on a re-read, an unknown one is NotFound', async () => {
  handler = (req, res, body) => json(res, 200, { ...JSON.parse(body || '{}'), seenAt: req.url });
  const client = createObjectClient(config());
  await client.apply(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', namespace: 'ignored' } },
    { fieldManager: 'pinwarden' },
  );
  assert.equal(seen.at(-1)!.url, '/api/v1/namespaces/n?fieldManager=pinwarden');
  assert.equal(await client.scope('example.com/v1', 'Widget'), undefined);
  await assert.rejects(
    client.apply(
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
      { fieldManager: 'pinwarden' },
    ),
    /no matches for kind "Widget"/,
  );
  widgetsKnown = true;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(await client.scope('example.com/v1', 'Widget'), 'Cluster');
  await assert.rejects(
    client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'no-ns' } }, { fieldManager: 'pinwarden' }),
    (error: unknown) => error instanceof KubeApiError && error.httpStatus === 404,
  );
});
