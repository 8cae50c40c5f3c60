// Attack (issue #7 item 3): tenant B holds tenant A's client certificate (certificates are public) and puts
// it in their own certSecretRef with a key of their own. Today the TLS pool and the digest cache are keyed by
// the certificate only, so B rides on A's pooled connection (A's identity) and gets A's cached digests.
// Defence: the Secret's key must match its certificate, and every pool and cache key covers the key.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { PinwardenError } from '../../src/core/errors.ts';
import { HttpRepository, callWithTimeout, createResolver, createTokenCache } from '../../src/oci/index.ts';
import { admissionReview, decodePatch, ociRepository } from '../helpers/admission.ts';
import { createTestCa } from '../helpers/certs.ts';
import type { KeyPairPem, TestCa } from '../helpers/certs.ts';
import { sha256 } from '../helpers/fake-registry.ts';
import { TENANT_ADDRESS, manifestBytes, webhook } from './fixtures.ts';
import { closeServer } from '../helpers/close-server.ts';

let ca: TestCa;
let tenantA: KeyPairPem;
let tenantB: KeyPairPem;
let server: Server;
let host: string;
/** Common names of the client certificates the registry saw. */
const seen: string[] = [];

before(async () => {
  ca = await createTestCa('tenants CA');
  const serving = await ca.issue({ commonName: 'registry', usage: 'server', ips: [TENANT_ADDRESS] });
  [tenantA, tenantB] = await Promise.all([
    ca.issue({ commonName: 'tenant-a', usage: 'client' }),
    ca.issue({ commonName: 'tenant-b', usage: 'client' }),
  ]);
  server = createServer(
    { cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const name = String((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
      seen.push(name);
      req.resume();
      const bytes = manifestBytes(`private to ${name}`);
      res.writeHead(200, {
        'content-type': 'application/vnd.oci.image.manifest.v1+json',
        'content-length': String(bytes.byteLength),
        'docker-content-digest': sha256(bytes),
      });
      res.end(req.method === 'HEAD' ? undefined : Buffer.from(bytes));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, TENANT_ADDRESS, resolve));
  host = `${TENANT_ADDRESS}:${(server.address() as AddressInfo).port}`;
});

after(() => closeServer(server));

const digestOf = (name: string): string => sha256(manifestBytes(`private to ${name}`));

test("webhook: tenant B with tenant A's certificate and B's own key gets neither A's identity nor A's digest", async () => {
  const secret = (pair: { cert: string; key: string }) => ({
    type: 'kubernetes.io/tls',
    data: { 'ca.crt': ca.certPem, 'tls.crt': pair.cert, 'tls.key': pair.key },
  });
  const { h, pins } = webhook('registry: {timeoutSeconds: 2, allowNetworks: ["127.0.0.2/32"]}', {
    secrets: {
      'team-a/registry-tls': secret({ cert: tenantA.certPem, key: tenantA.keyPem }),
      'team-b/registry-tls': secret({ cert: tenantA.certPem, key: tenantB.keyPem }),
    },
  });
  try {
    const object = (namespace: string) =>
      ociRepository(
        { url: `oci://${host}/shared/app`, ref: { tag: 'v1' }, certSecretRef: { name: 'registry-tls' } },
        { namespace },
      );
    const a = await h.review('/mutate', admissionReview(object('team-a')));
    assert.equal(decodePatch(a.response).find((op) => op.path === '/spec/ref/digest')?.value, digestOf('tenant-a'));
    const requestsBefore = seen.length;
    const b = await h.review('/mutate', admissionReview(object('team-b')));
    assert.equal(b.response.patch, undefined, "B must not get A's cached digest");
    assert.match(b.response.warnings[0], /PW_INPUT_INVALID/);
    assert.equal(seen.length, requestsBefore, 'B never reached the registry as A');
  } finally {
    pins.close();
  }
});

test("client: a repository with A's certificate and B's key has its own pool and cache entry, and fails its handshake", async () => {
  const resolver = createResolver({ ttlMs: 60_000 });
  const open = (key: string) =>
    new HttpRepository(
      { registry: host, host, path: 'shared/app' },
      {
        tls: { ca: ca.certPem, cert: tenantA.certPem, key },
        tokenCache: createTokenCache(),
        retry: { maxAttempts: 1 },
      },
    );
  const asA = open(tenantA.keyPem);
  const borrowed = open(tenantB.keyPem);
  try {
    assert.equal((await resolver.resolveTag(asA, 'v1', callWithTimeout(2000))).digest, digestOf('tenant-a'));
    assert.notEqual(asA.cacheIdentity, borrowed.cacheIdentity);
    assert.equal(resolver.peekTag(borrowed, 'v1'), undefined, "A's cached digest is not B's");
    const requestsBefore = seen.length;
    await assert.rejects(
      resolver.resolveTag(borrowed, 'v1', callWithTimeout(2000)),
      (error: unknown) => error instanceof PinwardenError && error.kind === 'unavailable',
    );
    assert.equal(seen.length, requestsBefore, "no request went out on A's pooled connection");
  } finally {
    asA.close();
    borrowed.close();
  }
});
