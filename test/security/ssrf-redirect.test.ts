// Attack (issue #7 item 2): the tenant's own (allowed) registry answers with a redirect to an internal URL,
// so the webhook fetches it, pins the answer's sha256 or shows its body in the denial. Defence: redirects
// are followed only for blobs, every hop is checked by the address guard and against allowedRegistries,
// never from https to plain http, and credentials never follow to another host.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../src/core/errors.ts';
import { HttpRepository, createNetworkGuard, createTokenCache, fetchAll, sha256Digest } from '../../src/oci/index.ts';
import { admissionReview, ociRepository } from '../helpers/admission.ts';
import { startFakeRegistry } from '../helpers/fake-registry.ts';
import type { FakeRegistry } from '../helpers/fake-registry.ts';
import { callUntil, fakeTransport } from '../helpers/fake-transport.ts';
import { INTERNAL_ADDRESS, SECRET, TENANT_ADDRESS, TENANT_POLICY, startInternalService, webhook } from './fixtures.ts';
import type { InternalService } from './fixtures.ts';

let internal: InternalService;
let tenant: FakeRegistry;
let storage: FakeRegistry;
const BLOB = new TextEncoder().encode('layer bytes');
const BLOB_DIGEST = sha256Digest(BLOB);

before(async () => {
  internal = await startInternalService();
  storage = await startFakeRegistry((request, res) => {
    if (request.path !== '/blob') return false;
    res.writeHead(200, { 'content-length': String(BLOB.byteLength) }).end(Buffer.from(BLOB));
    return true;
  }, TENANT_ADDRESS);
  tenant = await startFakeRegistry((request, res) => {
    const toInternal = `http://${internal.host}/latest/meta-data/iam/security-credentials/node`;
    if (request.path.includes('/manifests/')) {
      res.writeHead(307, { location: toInternal }).end();
      return true;
    }
    if (request.path.endsWith(`/blobs/${BLOB_DIGEST}`)) {
      res.writeHead(307, { location: `${storage.url}/blob` }).end();
      return true;
    }
    return false;
  }, TENANT_ADDRESS);
});

after(async () => {
  await Promise.all([internal.stop(), tenant.stop(), storage.stop()]);
});

test('a manifest redirected to an internal URL pins nothing, is never followed, and nothing of it is shown', async () => {
  const { h, pins } = webhook(TENANT_POLICY);
  try {
    const object = ociRepository({ url: `oci://${tenant.host}/acme/app`, ref: { tag: 'v1' }, insecure: true });
    const mutated = await h.review('/mutate', admissionReview(object));
    assert.equal(mutated.response.patch, undefined);
    const validated = await h.review('/validate', admissionReview(object));
    const message = String(validated.response.status.message);
    assert.equal(validated.response.allowed, false);
    assert.match(message, /redirected \(307\)[^\n]*\[PW_REGISTRY_PROTOCOL\]/);
    assert.ok(!message.includes(SECRET) && !message.includes('meta-data'), message);
    assert.deepEqual(internal.requests, []);
  } finally {
    pins.close();
  }
});

function guardedRepository(policy: { allowNetworks?: string[]; namedHosts?: string[] }): HttpRepository {
  return new HttpRepository(
    { registry: tenant.host, host: tenant.host, path: 'acme/app' },
    {
      insecure: true,
      guard: createNetworkGuard(policy),
      tokenCache: createTokenCache(),
      credentials: { username: 'tenant', password: 'hunter2' },
      retry: { maxAttempts: 1 },
    },
  );
}

async function fetchBlob(repository: HttpRepository): Promise<Uint8Array | PinwardenError> {
  try {
    return await fetchAll(
      repository,
      { mediaType: 'application/octet-stream', digest: BLOB_DIGEST, size: BLOB.byteLength },
      callUntil(2000),
    );
  } catch (error) {
    if (error instanceof PinwardenError) return error;
    throw error;
  }
}

test('a blob redirect to storage the policy allows is followed, without the registry credentials', async () => {
  const repository = guardedRepository({ allowNetworks: [`${TENANT_ADDRESS}/32`] });
  const bytes = await fetchBlob(repository);
  assert.ok(bytes instanceof Uint8Array, String(bytes));
  assert.deepEqual([...bytes], [...BLOB]);
  const hop = storage.requests.at(-1);
  assert.equal(hop?.headers.authorization, undefined, 'credentials never follow to another host');
});

test('a blob redirect to a host outside allowedRegistries is refused before it is contacted', async () => {
  const before = storage.requests.length;
  const repository = guardedRepository({ allowNetworks: [`${TENANT_ADDRESS}/32`], namedHosts: [tenant.host] });
  const failure = await fetchBlob(repository);
  assert.ok(failure instanceof PinwardenError);
  assert.equal(failure.code, 'PW_REGISTRY_ADDRESS_DENIED');
  assert.match(failure.message, /redirect target .* is not a host in spec\.ociRepository\.allowedRegistries/);
  assert.equal(storage.requests.length, before);
});

test('a blob redirect to an internal address is refused at connect time', async () => {
  const repository = new HttpRepository(
    { registry: tenant.host, host: tenant.host, path: 'acme/app' },
    {
      insecure: true,
      guard: createNetworkGuard({ allowNetworks: [`${TENANT_ADDRESS}/32`] }),
      tokenCache: createTokenCache(),
      retry: { maxAttempts: 1 },
    },
  );
  tenant.route = (request, res) => {
    res.writeHead(307, { location: `http://${INTERNAL_ADDRESS}:${internal.port}/computeMetadata/v1/` }).end();
    return request.path.length > 0;
  };
  const failure = await fetchBlob(repository);
  assert.ok(failure instanceof PinwardenError);
  assert.equal(failure.code, 'PW_REGISTRY_ADDRESS_DENIED');
  assert.deepEqual(internal.requests, []);
});

test('redirects from https to plain http are refused, and only blobs are redirected at all', async () => {
  const answers: string[] = [];
  const transport = fakeTransport((request) => {
    answers.push(`${request.method} ${request.url.href}`);
    return { status: 307, headers: { location: 'http://r.example/plain' } };
  });
  const repository = new HttpRepository(
    { registry: 'r.example', host: 'r.example', path: 'acme/app' },
    { transport, tokenCache: createTokenCache() },
  );
  await assert.rejects(
    fetchAll(
      repository,
      { mediaType: 'application/octet-stream', digest: BLOB_DIGEST, size: BLOB.byteLength },
      callUntil(1000),
    ),
    (error: unknown) => error instanceof PinwardenError && /from https to plain http refused/.test(error.message),
  );
  await assert.rejects(
    repository.fetchManifest('v1', callUntil(1000)),
    (error: unknown) => error instanceof PinwardenError && /only for blob downloads/.test(error.message),
  );
  const tags = repository.tags(callUntil(1000))[Symbol.asyncIterator]();
  await assert.rejects(
    tags.next(),
    (error: unknown) => error instanceof PinwardenError && /only for blob downloads/.test(error.message),
  );
  assert.equal(answers.length, 3, 'no redirect was followed');
});
