// The client-node SecretReader against a loopback HTTPS stand-in for the Kubernetes API (kubeconfig file with
// the test CA), since the tests never reach a real cluster: decoding, 404, RBAC refusal, the per-read deadline.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PinwardenError } from '../../../src/core/errors.ts';
import { createKubeSecretReader } from '../../../src/kube/index.ts';
import { createTestCa } from '../../helpers/certs.ts';
import { closeServer } from '../../helpers/close-server.ts';

const work = mkdtempSync(join(tmpdir(), 'pinwarden-kube-'));
let api: Server;
let kubeconfig: string;
const seen: Array<{ path: string; authorization: string | undefined }> = [];

before(async () => {
  const ca = await createTestCa('kube test CA');
  const serving = await ca.issue({ commonName: 'kube-apiserver', usage: 'server' });
  api = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    switch (req.url ?? '') {
      case '/api/v1/namespaces/apps/secrets/regcred':
        return send(200, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'regcred', namespace: 'apps' },
          type: 'kubernetes.io/dockerconfigjson',
          data: { '.dockerconfigjson': Buffer.from('{"auths":{}}').toString('base64') },
        });
      case '/api/v1/namespaces/apps/serviceaccounts/puller':
        return send(200, {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'puller' },
          imagePullSecrets: [{ name: 'regcred' }, { name: '' }, {}],
        });
      case '/api/v1/namespaces/locked/secrets/x':
        return send(403, {
          kind: 'Status',
          status: 'Failure',
          reason: 'Forbidden',
          message: 'secrets "x" is forbidden: User "system:serviceaccount:pinwarden" cannot get resource',
        });
      case '/api/v1/namespaces/slow/secrets/x':
        return; // never answers
      default:
        return send(404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    }
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const port = (api.address() as { port: number }).port;
  kubeconfig = join(work, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://127.0.0.1:${port}", certificate-authority-data: ${Buffer.from(ca.certPem).toString('base64')}}}]
users: [{name: test, user: {token: test-token}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
`,
  );
});

after(async () => {
  await closeServer(api);
  rmSync(work, { recursive: true, force: true });
});

test('reads and base64-decodes a Secret, with the kubeconfig credentials', async () => {
  const reader = createKubeSecretReader({ kubeconfig });
  const secret = await reader.getSecret('apps', 'regcred');
  assert.equal(secret?.type, 'kubernetes.io/dockerconfigjson');
  assert.equal(new TextDecoder().decode(secret?.data['.dockerconfigjson']), '{"auths":{}}');
  assert.equal(seen.at(-1)?.authorization, 'Bearer test-token');
});

test('ServiceAccount image pull secret names (empty entries dropped); 404 → undefined', async () => {
  const reader = createKubeSecretReader({ kubeconfig });
  assert.deepEqual(await reader.getServiceAccount('apps', 'puller'), { imagePullSecrets: ['regcred'] });
  assert.equal(await reader.getSecret('apps', 'absent'), undefined);
  assert.equal(await reader.getServiceAccount('apps', 'absent'), undefined);
});

test('RBAC refusal: a catalogued error naming the object and the status, never the API body', async () => {
  const reader = createKubeSecretReader({ kubeconfig });
  await assert.rejects(reader.getSecret('locked', 'x'), (error: unknown) => {
    assert.ok(error instanceof PinwardenError);
    assert.equal(error.code, 'PW_KUBE_API');
    assert.equal(
      error.kind,
      'unavailable',
      'an API refusal follows registry.onUnreachable, not the internal-error path',
    );
    assert.match(error.message, /Secret locked\/x.*403/);
    assert.ok(!error.message.includes('cannot get resource'));
    return true;
  });
});

test('a read that hangs ends at its deadline with PW_DEADLINE', async () => {
  const reader = createKubeSecretReader({ kubeconfig, timeoutMs: 200 });
  const started = performance.now();
  await assert.rejects(
    reader.getSecret('slow', 'x'),
    (error: unknown) => error instanceof PinwardenError && error.code === 'PW_DEADLINE',
  );
  assert.ok(performance.now() - started < 1500);
});

test('a missing kubeconfig file is an input error', async () => {
  const reader = createKubeSecretReader({ kubeconfig: join(work, 'nope') });
  await assert.rejects(
    reader.getSecret('a', 'b'),
    (error: unknown) => error instanceof PinwardenError && error.code === 'PW_INPUT_INVALID',
  );
});
