import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { readOciRepository } from '../../../src/core/flux/index.ts';
import { clusterAccess, localAccess } from '../../../src/flows/index.ts';
import { createMemorySecretReader } from '../../../src/kube/index.ts';
import type { MemorySecrets } from '../../../src/kube/index.ts';
import { callWithTimeout } from '../../../src/oci/index.ts';
import { createTestCa } from '../../helpers/certs.ts';

// Client pairs must be real: the key is checked against the certificate.
const ca = await createTestCa();
const [client, otherClient] = await Promise.all([
  ca.issue({ commonName: 'client', usage: 'client' }),
  ca.issue({ commonName: 'other', usage: 'client' }),
]);

const HOST = 'registry.example.com';
const config = (host: string, user: string, password: string): string =>
  JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } });

function access(secrets: MemorySecrets, spec: Record<string, unknown>, registry = HOST) {
  const view = readOciRepository({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'a', namespace: 'apps' },
    spec: { url: `oci://${registry}/a/b`, ...spec },
  });
  return clusterAccess(createMemorySecretReader(secrets))({ namespace: 'apps', view, registry }, callWithTimeout(1000));
}

const SECRETS: MemorySecrets = {
  secrets: {
    'apps/regcred': {
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': config(HOST, 'alice', 'a-pass') },
    },
    'apps/elsewhere': {
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': config('ghcr.io', 'bob', 'b-pass') },
    },
    'apps/legacy': {
      type: 'kubernetes.io/dockercfg',
      data: { '.dockercfg': JSON.stringify({ [`https://${HOST}`]: { username: 'carol', password: 'c-pass' } }) },
    },
    'apps/broken': {
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': '{"auths": oops secret-text' },
    },
    'apps/ca': { data: { 'ca.crt': 'CA PEM' } },
    'apps/mtls': {
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': client.certPem, 'tls.key': client.keyPem, 'ca.crt': 'CA' },
    },
    'apps/old-keys': { data: { caFile: 'CA2', certFile: otherClient.certPem, keyFile: otherClient.keyPem } },
    'apps/borrowed-cert': {
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': client.certPem, 'tls.key': otherClient.keyPem },
    },
    'apps/half': { data: { 'tls.crt': 'CERT' } },
  },
  serviceAccounts: { 'apps/puller': { imagePullSecrets: ['elsewhere', 'legacy'] }, 'apps/nobody': {} },
};

test('secretRef: credentials for the registry host', async () => {
  assert.deepEqual((await access(SECRETS, { secretRef: { name: 'regcred' } })).credentials, {
    username: 'alice',
    password: 'a-pass',
  });
});

test('ServiceAccount pull secrets: the first with an entry for the host wins (legacy .dockercfg too)', async () => {
  assert.deepEqual((await access(SECRETS, { serviceAccountName: 'puller' })).credentials, {
    username: 'carol',
    password: 'c-pass',
  });
});

test('secretRef without an entry for the host falls through to the ServiceAccount', async () => {
  assert.deepEqual(
    (await access(SECRETS, { secretRef: { name: 'elsewhere' }, serviceAccountName: 'puller' })).credentials,
    { username: 'carol', password: 'c-pass' },
  );
});

test('nothing for the host: anonymous', async () => {
  assert.deepEqual(await access(SECRETS, { serviceAccountName: 'nobody' }), {});
  assert.deepEqual(await access(SECRETS, {}), {});
});

test('certSecretRef: ca.crt, client pair, deprecated keys', async () => {
  assert.deepEqual((await access(SECRETS, { certSecretRef: { name: 'ca' } })).tls, { ca: 'CA PEM' });
  assert.deepEqual((await access(SECRETS, { certSecretRef: { name: 'mtls' } })).tls, {
    ca: 'CA',
    cert: client.certPem,
    key: client.keyPem,
  });
  assert.deepEqual((await access(SECRETS, { certSecretRef: { name: 'old-keys' } })).tls, {
    ca: 'CA2',
    cert: otherClient.certPem,
    key: otherClient.keyPem,
  });
});

test("certSecretRef: another tenant's certificate with one's own key is refused before any connection", async () => {
  await assert.rejects(
    access(SECRETS, { certSecretRef: { name: 'borrowed-cert' } }),
    (error: unknown) =>
      error instanceof PinwardenError &&
      error.code === 'PW_INPUT_INVALID' &&
      /tls\.key is not the private key/.test(error.message),
  );
});

const isInput = (error: unknown): boolean => error instanceof PinwardenError && error.code === 'PW_INPUT_INVALID';

test('missing Secret, ServiceAccount or pull secret, and half a client pair: PW_INPUT_INVALID', async () => {
  await assert.rejects(access(SECRETS, { secretRef: { name: 'absent' } }), isInput);
  await assert.rejects(access(SECRETS, { serviceAccountName: 'absent' }), isInput);
  await assert.rejects(
    access({ serviceAccounts: { 'apps/sa': { imagePullSecrets: ['gone'] } } }, { serviceAccountName: 'sa' }),
    isInput,
  );
  await assert.rejects(access(SECRETS, { certSecretRef: { name: 'absent' } }), isInput);
  await assert.rejects(access(SECRETS, { certSecretRef: { name: 'half' } }), isInput);
});

test('a broken dockerconfigjson names the Secret and never quotes it', async () => {
  await assert.rejects(access(SECRETS, { secretRef: { name: 'broken' } }), (error: unknown) => {
    assert.ok(isInput(error));
    assert.match((error as Error).message, /apps\/broken/);
    assert.ok(!(error as Error).message.includes('secret-text'));
    return true;
  });
});

test('localAccess: the docker login of the machine, by host', async () => {
  const provider = localAccess(JSON.parse(config(HOST, 'dev', 'd-pass')) as object);
  const view = readOciRepository({});
  assert.deepEqual((await provider({ namespace: 'x', view, registry: HOST }, callWithTimeout(100))).credentials, {
    username: 'dev',
    password: 'd-pass',
  });
  assert.deepEqual(await provider({ namespace: 'x', view, registry: 'other.io' }, callWithTimeout(100)), {});
  assert.deepEqual(await localAccess(undefined)({ namespace: 'x', view, registry: HOST }, callWithTimeout(100)), {});
});
