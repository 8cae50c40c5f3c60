// Issue #10 item 5: the Kubernetes API answers 429 (with Retry-After), 500 and 409 to the controller's status
// writes; the controller backs off (Retry-After honoured, exponential otherwise), retries and converges. The
// faults come from a small HTTP proxy in front of the real apiserver that forwards with the admin's certificate.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { loadPolicy } from '../../../../src/core/policy/index.ts';
import { createKubeApi, objectPath, RESOURCES } from '../../../../src/kube/index.ts';
import type { KubeApi } from '../../../../src/kube/index.ts';
import { createArtifactStore } from '../../../../src/controller/index.ts';
import type { ControllerManager } from '../../../../src/controller/runtime/index.ts';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import { startRegistry } from '../../../helpers/registry.ts';
import type { TestRegistry } from '../../../helpers/registry.ts';
import {
  controllerPolicy,
  namespaceWithCosignKey,
  startOciRepositoryManager,
  ociRepositoryYaml,
  pushSigned,
} from '../../../support/controller.ts';

let cp: ControlPlane;
let registry: TestRegistry;
let direct: KubeApi;
let proxy: Server;
let manager: ControllerManager;
let dir: string;
/** Answers to give status writes, in order, before letting them through. */
const faults: Array<{ status: number; retryAfter?: string }> = [];
const statusWrites: Array<{ at: number; answered: number }> = [];

function forward(request: IncomingMessage, response: ServerResponse, body: Buffer): void {
  const target = new URL(cp.url);
  const upstream = httpsRequest(
    {
      hostname: target.hostname,
      port: target.port,
      path: request.url,
      method: request.method,
      headers: { ...request.headers, host: target.host },
      ca: cp.ca.certPem,
      cert: cp.admin.certPem,
      key: cp.admin.keyPem,
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  upstream.on('error', () => response.destroy());
  response.on('close', () => upstream.destroy());
  upstream.end(body);
}

before(async () => {
  [cp, registry] = await Promise.all([startControlPlane(), startRegistry()]);
  direct = createKubeApi({ config: cp.kubeConfig() });
  proxy = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request
      .on('data', (chunk: Buffer) => chunks.push(chunk))
      .on('end', () => {
        const isStatusWrite = request.method === 'PATCH' && (request.url ?? '').split('?')[0]!.endsWith('/status');
        if (isStatusWrite) {
          const fault = faults.shift();
          statusWrites.push({ at: Date.now(), answered: fault?.status ?? 200 });
          if (fault) {
            const reason =
              fault.status === 429 ? 'TooManyRequests' : fault.status === 409 ? 'Conflict' : 'InternalError';
            response.writeHead(fault.status, {
              'content-type': 'application/json',
              ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}),
            });
            response.end(
              JSON.stringify({
                kind: 'Status',
                apiVersion: 'v1',
                status: 'Failure',
                reason,
                code: fault.status,
                message: `injected ${fault.status}`,
              }),
            );
            return;
          }
        }
        forward(request, response, Buffer.concat(chunks));
      });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      { name: 'proxy', server: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: 'anonymous' }],
    contexts: [{ name: 'proxy', cluster: 'proxy', user: 'anonymous' }],
    currentContext: 'proxy',
  });
  const api = createKubeApi({ config });
  dir = mkdtempSync(join(tmpdir(), 'pw-faults-'));
  const store = createArtifactStore({ root: dir });
  await store.open();
  const policy = loadPolicy(controllerPolicy(registry.host), 'policy.yaml');
  manager = await startOciRepositoryManager({ cp, api, store, policy, backoff: { baseMs: 300, maxMs: 5000 } });
});
after(async () => {
  await manager?.stop(5000);
  proxy?.closeAllConnections();
  proxy?.close();
  await Promise.all([cp?.stop(), registry?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('429 with Retry-After, 500 and 409 on status writes: backoff, retry, then Ready', async () => {
  await namespaceWithCosignKey(cp, 'faults');
  await pushSigned(registry.host, 'apps/faults', 'v1', { 'app.yaml': 'kind: ConfigMap\n' });
  // 409 is retried inside the status writer (re-read, merge again); 429 and 500 fail the reconcile and requeue it.
  faults.push({ status: 429, retryAfter: '2' }, { status: 500 }, { status: 500 }, { status: 409 });
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: ociRepositoryYaml(registry.host, 'faults', 'app', 'apps/faults', { tag: 'v1' }),
  });
  const end = Date.now() + 40_000;
  let ready = false;
  while (!ready && Date.now() < end) {
    const object = await direct.request<{ status?: { conditions?: Array<{ type: string; status: string }> } }>({
      method: 'GET',
      path: objectPath(RESOURCES.ociRepository, 'faults', 'app'),
    });
    ready =
      object.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ===
      true;
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(ready, 'converged to Ready');
  assert.deepEqual(
    statusWrites.slice(0, 5).map((write) => write.answered),
    [429, 500, 500, 409, 200],
  );
  const gaps = statusWrites.slice(1, 4).map((write, index) => write.at - statusWrites[index]!.at);
  assert.ok(gaps[0]! >= 1900, `Retry-After: 2 honoured (waited ${gaps[0]} ms)`);
  assert.ok(
    gaps[2]! > gaps[1]! * 1.5 || gaps[2]! >= 1000,
    `exponential backoff between the 500s (${gaps[1]} ms, then ${gaps[2]} ms)`,
  );
  assert.ok(
    statusWrites[4]!.at - statusWrites[3]!.at < 1000,
    'the 409 was retried at once after re-reading the object',
  );
});
