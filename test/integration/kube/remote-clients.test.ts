// The remote cluster's object clients (spec.kubeConfig) against a local HTTP API stand-in: built only from the
// judged fields (the token is sent, the ServiceAccount impersonated), an allowed exec plugin's credential is used,
// and an exec plugin that hangs cannot hold a request past its deadline.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteObjectClients } from '../../../src/kube/index.ts';
import type { RemoteKubeConfig } from '../../../src/core/kubeconfig/index.ts';
import { isPinwardenError } from '../../../src/core/errors.ts';
import { closeServer } from '../../helpers/close-server.ts';

let server: Server;
const seen: Array<IncomingMessage['headers']> = [];

before(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url === '/api/v1')
      res.end(JSON.stringify({ resources: [{ name: 'configmaps', kind: 'ConfigMap', namespaced: true }] }));
    else res.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'team' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
after(() => closeServer(server));

// createRemoteObjectClients takes an already judged config; plain http (which client-node allows only with
// skipTLSVerify) because the stand-in has no TLS.
const remote = (user: RemoteKubeConfig['user']): RemoteKubeConfig => {
  const port = (server.address() as AddressInfo).port;
  return { server: `http://127.0.0.1:${port}`, address: `127.0.0.1:${port}`, insecureSkipTlsVerify: true, user };
};
const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team', name: 'a' };

test('the token is sent, and clientFor impersonates the ServiceAccount on the remote cluster', async () => {
  seen.length = 0;
  const clients = createRemoteObjectClients(remote({ token: 'remote-token-abc' }));
  assert.equal((await clients.clientFor({ namespace: 'team', name: 'deployer' }).get(ref))?.metadata.name, 'a');
  assert.ok(seen.length >= 1);
  for (const headers of seen) {
    assert.equal(headers.authorization, 'Bearer remote-token-abc');
    assert.equal(headers['impersonate-user'], 'system:serviceaccount:team:deployer');
  }
  seen.length = 0;
  await clients.client.get(ref);
  assert.equal(seen.at(-1)?.['impersonate-user'], undefined, 'no ServiceAccount: no impersonation');
});

test('an allowed exec plugin supplies the credential', async () => {
  seen.length = 0;
  const credential = JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token: 'from-exec-plugin' },
  });
  const clients = createRemoteObjectClients(
    remote({
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: '/bin/sh',
        args: ['-c', `printf '%s' '${credential}'`],
      },
    }),
  );
  await clients.client.get(ref);
  assert.equal(seen.at(-1)?.authorization, 'Bearer from-exec-plugin');
});

test('an exec plugin that hangs is cut off at the request deadline (PW_DEADLINE), nothing sent', async () => {
  seen.length = 0;
  const clients = createRemoteObjectClients(
    remote({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/bin/sh', args: ['-c', 'sleep 3'] } }),
    { timeoutMs: 300 },
  );
  const started = Date.now();
  await assert.rejects(clients.client.get(ref), (error: unknown) => {
    assert.ok(isPinwardenError(error), String(error));
    assert.equal(error.code, 'PW_DEADLINE');
    assert.match(error.message, /no credentials from the kubeconfig within 300 ms/);
    return true;
  });
  // Generous ceiling (shared, loaded machine): far under the plugin's 3 s.
  assert.ok(Date.now() - started < 2_500, `${Date.now() - started} ms`);
  assert.equal(seen.length, 0, 'no request without credentials');
});

test('an exec plugin that fails: PW_KUBE_API saying so, never its output', async () => {
  seen.length = 0;
  const clients = createRemoteObjectClients(
    remote({
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: '/bin/sh',
        args: ['-c', 'echo PLUGIN-SECRET-OUTPUT >&2; exit 3'],
      },
    }),
  );
  await assert.rejects(clients.client.get(ref), (error: unknown) => {
    assert.ok(isPinwardenError(error), String(error));
    assert.equal(error.code, 'PW_KUBE_API');
    assert.match(error.message, /the kubeconfig's credentials could not be obtained/);
    assert.ok(!error.message.includes('PLUGIN-SECRET-OUTPUT'));
    return true;
  });
  assert.equal(seen.length, 0);
});
