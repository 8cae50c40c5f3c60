// TLS against the real registry: a self-made CA (trusted only when given), mTLS via http.tls.clientcas,
// and the insecure option as the only way to plain HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HttpRepository,
  MEDIA_TYPES,
  createTokenCache,
  parseReference,
  tlsFromSecretData,
} from '../../../src/oci/index.ts';
import type { HttpRepositoryOptions } from '../../../src/oci/index.ts';
import { startRegistry } from '../../helpers/registry.ts';
import type { TestRegistry } from '../../helpers/registry.ts';
import { call, hasCode, jsonBytes } from './fixtures.ts';

const opened: HttpRepository[] = [];

function open(registry: TestRegistry, options: HttpRepositoryOptions): HttpRepository {
  const repo = new HttpRepository(parseReference(`oci://${registry.host}/tls/app`), {
    tokenCache: createTokenCache(),
    ...options,
  });
  opened.push(repo);
  return repo;
}

async function pushSample(repo: HttpRepository): Promise<string> {
  const config = await repo.pushBlob(jsonBytes({}), MEDIA_TYPES.ociEmpty, call());
  return (
    await repo.pushManifest(
      jsonBytes({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers: [] }),
      MEDIA_TYPES.ociManifest,
      'v1',
      call(),
    )
  ).digest;
}

after(() => {
  for (const repo of opened) repo.close();
});

describe('TLS with a private CA', () => {
  let registry: TestRegistry;
  let digest: string;
  before(async () => {
    registry = await startRegistry({ mode: 'tls' });
    digest = await pushSample(open(registry, { tls: { ca: registry.tls!.caPem } }));
  });
  after(() => registry?.stop());

  test('trusted with the CA (certSecretRef ca.crt)', async () => {
    const tls = tlsFromSecretData({ 'ca.crt': registry.tls!.caPem });
    assert.equal((await open(registry, { tls }).resolve('v1', call())).digest, digest);
  });

  test('without the CA the certificate is refused at once (not retried)', async () => {
    const started = Date.now();
    await assert.rejects(open(registry, {}).resolve('v1', call()), hasCode('PW_REGISTRY_UNREACHABLE', /TLS failed/));
    assert.ok(Date.now() - started < 1000);
    assert.ok(
      !registry.requestLog.some(
        (r) => r.path === '/v2/tls/app/manifests/v1' && r.method === 'HEAD' && r.status !== 200,
      ),
    );
  });

  test('insecure without a CA skips verification (Flux spec.insecure semantics)', async () => {
    assert.equal((await open(registry, { insecure: true }).resolve('v1', call())).digest, digest);
  });
});

describe('mTLS (http.tls.clientcas)', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({ mode: 'tls', clientCertificates: true });
  });
  after(() => registry?.stop());

  test('a client certificate from the secret (tls.crt/tls.key, and the deprecated keys) is presented', async () => {
    const { caPem, clientCertPem, clientKeyPem } = registry.tls!;
    const digest = await pushSample(
      open(registry, {
        tls: tlsFromSecretData({ 'ca.crt': caPem, 'tls.crt': clientCertPem, 'tls.key': clientKeyPem }),
      }),
    );
    const deprecated = tlsFromSecretData({ caFile: caPem, certFile: clientCertPem, keyFile: clientKeyPem });
    assert.equal((await open(registry, { tls: deprecated }).resolve('v1', call())).digest, digest);
  });

  test('without a client certificate the handshake fails', async () => {
    await assert.rejects(
      open(registry, { tls: { ca: registry.tls!.caPem } }).resolve('v1', call()),
      hasCode('PW_REGISTRY_UNREACHABLE'),
    );
  });
});

describe('plain HTTP needs insecure', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({ mode: 'plain' });
  });
  after(() => registry?.stop());

  test('refused without insecure, with a message that says why', async () => {
    await assert.rejects(
      open(registry, {}).resolve('v1', call()),
      hasCode('PW_REGISTRY_UNREACHABLE', /does not speak TLS/),
    );
  });

  test('allowed with insecure', async () => {
    const digest = await pushSample(open(registry, { insecure: true }));
    assert.equal((await open(registry, { insecure: true }).resolve('v1', call())).digest, digest);
  });
});
