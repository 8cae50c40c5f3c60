// Fault injection with a scripted node:http registry: lies about digests, oversized and garbage bodies,
// hangs, 429 with Retry-After, 5xx, 404, and Link pagination (which registry 2.8 does not implement).
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HttpRepository,
  MEDIA_TYPES,
  callWithTimeout,
  createTokenCache,
  fetchAll,
  parseReference,
  sha256Digest,
} from '../../../src/oci/index.ts';
import type { Descriptor, HttpRepositoryOptions } from '../../../src/oci/index.ts';
import { json, sendJson, sendManifest, sha256, startFakeRegistry } from '../../helpers/fake-registry.ts';
import type { FakeRegistry } from '../../helpers/fake-registry.ts';
import { call, hasCode } from './fixtures.ts';

let fake: FakeRegistry;
const opened: HttpRepository[] = [];
const MANIFEST = json({
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.ociManifest,
  config: { mediaType: MEDIA_TYPES.ociEmpty, digest: sha256(json({})), size: 2 },
  layers: [],
});
const BLOB = new TextEncoder().encode('the real layer bytes');
const BLOB_DESCRIPTOR: Descriptor = {
  mediaType: MEDIA_TYPES.fluxContent,
  digest: sha256Digest(BLOB),
  size: BLOB.byteLength,
};

function open(options: HttpRepositoryOptions = {}): HttpRepository {
  const repo = new HttpRepository(parseReference(`oci://${fake.host}/acme/app`), {
    insecure: true,
    tokenCache: createTokenCache(),
    ...options,
  });
  opened.push(repo);
  return repo;
}

before(async () => {
  fake = await startFakeRegistry();
});
afterEach(() => {
  fake.requests.length = 0;
  fake.route = () => false;
});
after(async () => {
  for (const repo of opened) repo.close();
  await fake.stop();
});

test('a blob whose bytes do not match its digest is refused (PW_DIGEST_MISMATCH)', async () => {
  fake.route = (req, res) => {
    if (req.path !== `/v2/acme/app/blobs/${BLOB_DESCRIPTOR.digest}`) return false;
    res.writeHead(200, { 'content-length': String(BLOB.byteLength) }).end(Buffer.from('the fake layer bytes'));
    return true;
  };
  await assert.rejects(fetchAll(open(), BLOB_DESCRIPTOR, call()), hasCode('PW_DIGEST_MISMATCH', /does not match/));
});

test('a blob longer than its descriptor is cut off, not buffered (PW_DIGEST_MISMATCH)', async () => {
  fake.route = (_req, res) => {
    res.writeHead(200);
    res.write(Buffer.from(BLOB));
    res.end(Buffer.alloc(1024 * 1024));
    return true;
  };
  await assert.rejects(
    fetchAll(open(), BLOB_DESCRIPTOR, call()),
    hasCode('PW_DIGEST_MISMATCH', /more than the expected/),
  );
});

test('manifest digest lies: header vs bytes, and bytes vs the digest asked for', async () => {
  fake.route = (req, res) =>
    sendManifest(res, MANIFEST, { head: req.method === 'HEAD', digest: `sha256:${'0'.repeat(64)}` });
  await assert.rejects(open().fetchManifest('v1', call()), hasCode('PW_DIGEST_MISMATCH', /Docker-Content-Digest/));
  fake.route = (req, res) => sendManifest(res, MANIFEST, { head: req.method === 'HEAD', digest: null });
  await assert.rejects(
    open().fetchManifest(`sha256:${'1'.repeat(64)}`, call()),
    hasCode('PW_DIGEST_MISMATCH', /requested/),
  );
  // HEAD with a different digest than the one asked for
  fake.route = (req, res) => sendManifest(res, MANIFEST, { head: req.method === 'HEAD' });
  await assert.rejects(open().resolve(`sha256:${'2'.repeat(64)}`, call()), hasCode('PW_DIGEST_MISMATCH'));
});

test('a manifest over the cap is refused while streaming (no Content-Length)', async () => {
  fake.route = (_req, res) => {
    res.writeHead(200, { 'content-type': MEDIA_TYPES.ociManifest });
    res.write(Buffer.alloc(600 * 1024, 0x20));
    res.end(Buffer.alloc(600 * 1024, 0x20));
    return true;
  };
  await assert.rejects(open({ maxManifestBytes: 1024 * 1024 }).fetchManifest('v1', call()), hasCode('PW_TOO_LARGE'));
});

test('a hanging registry: the call ends at its deadline with PW_DEADLINE', async () => {
  fake.route = () => true; // never answers
  const started = Date.now();
  await assert.rejects(open().resolve('v1', callWithTimeout(300)), hasCode('PW_DEADLINE'));
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 290 && elapsed < 600, `took ${elapsed} ms`);
});

test('429 with Retry-After: 1 is honoured, then the answer used', async () => {
  fake.route = (req, res) => {
    if (fake.requests.length === 1)
      return sendJson(
        res,
        429,
        { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] },
        { 'retry-after': '1' },
      );
    return sendManifest(res, MANIFEST, { head: req.method === 'HEAD' });
  };
  const started = Date.now();
  const descriptor = await open().resolve('v1', callWithTimeout(5000));
  const elapsed = Date.now() - started;
  assert.equal(descriptor.digest, sha256(MANIFEST));
  assert.equal(fake.requests.length, 2);
  assert.ok(elapsed >= 950 && elapsed < 2000, `took ${elapsed} ms`);
});

test('429 whose Retry-After passes the deadline fails now with PW_RATE_LIMITED', async () => {
  fake.route = (_req, res) =>
    sendJson(res, 429, { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }, { 'retry-after': '10' });
  const started = Date.now();
  await assert.rejects(
    open().resolve('v1', callWithTimeout(2000)),
    hasCode('PW_RATE_LIMITED', /429 \(retrying in 10s would pass the deadline\)/),
  );
  await assert.rejects(
    open().fetchManifest('v1', callWithTimeout(2000)),
    hasCode('PW_RATE_LIMITED', /429 TOOMANYREQUESTS \(retrying.*deadline/),
  );
  assert.ok(Date.now() - started < 500);
  assert.equal(fake.requests.length, 2);
});

test('503 is retried with backoff; 404 is not retried', async () => {
  fake.route = (req, res) =>
    fake.requests.length === 1 ? sendJson(res, 503, {}) : sendManifest(res, MANIFEST, { head: req.method === 'HEAD' });
  await open({ retry: { baseDelayMs: 10 } }).resolve('v1', call());
  assert.equal(fake.requests.length, 2);
  fake.requests.length = 0;
  fake.route = (_req, res) =>
    sendJson(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
  await assert.rejects(open().fetchManifest('v1', call()), hasCode('PW_MANIFEST_UNKNOWN'));
  assert.equal(fake.requests.length, 1);
});

test('garbage where JSON is expected is PW_REGISTRY_PROTOCOL', async () => {
  fake.route = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('<html>surprise</html>');
    return true;
  };
  const tags = async () => {
    for await (const _tag of open().tags(call())) void _tag;
  };
  await assert.rejects(tags(), hasCode('PW_REGISTRY_PROTOCOL'));
});

test('tags follow Link pagination across pages; loops and foreign origins are refused', async () => {
  const pages: Record<string, { tags: string[]; next?: string }> = {
    '': { tags: ['a', 'b'], next: '</v2/acme/app/tags/list?n=2&last=b>; rel="next"' },
    'n=2&last=b': { tags: ['c', 'd'], next: '</v2/acme/app/tags/list?n=2&last=d>; rel="next"' },
    'n=2&last=d': { tags: ['e'] },
  };
  fake.route = (req, res) => {
    const page = pages[req.query.startsWith('n=2&last') ? req.query : ''];
    if (!page) return false;
    return sendJson(res, 200, { name: 'acme/app', tags: page.tags }, page.next ? { link: page.next } : {});
  };
  const listed: string[] = [];
  for await (const tag of open({ pageSize: 2 }).tags(call())) listed.push(tag);
  assert.deepEqual(listed, ['a', 'b', 'c', 'd', 'e']);
  assert.equal(fake.requests[0]?.query, 'n=2');

  fake.route = (_req, res) =>
    sendJson(res, 200, { tags: ['x'] }, { link: '</v2/acme/app/tags/list?last=x>; rel="next"' });
  await assert.rejects(drain(open()), hasCode('PW_REGISTRY_PROTOCOL', /loops/));
  fake.route = (_req, res) =>
    sendJson(res, 200, { tags: ['x'] }, { link: '<http://elsewhere.example/v2/x>; rel="next"' });
  await assert.rejects(drain(open()), hasCode('PW_REGISTRY_PROTOCOL', /another origin/));
});

test('referrers API: pages followed, artifactType passed and filtered client-side', async () => {
  const subject = `sha256:${'3'.repeat(64)}`;
  const entry = (n: number, artifactType: string) => ({
    mediaType: MEDIA_TYPES.ociManifest,
    digest: `sha256:${String(n).repeat(64)}`,
    size: 10,
    artifactType,
  });
  fake.route = (req, res) => {
    if (req.path !== `/v2/acme/app/referrers/${subject}`) return false;
    const second = req.query.includes('page=2');
    const body = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: second ? [entry(5, 'b')] : [entry(4, 'a'), entry(6, 'b')],
    };
    return sendJson(res, 200, body, {
      'content-type': MEDIA_TYPES.ociIndex,
      ...(second ? {} : { link: `</v2/acme/app/referrers/${subject}?page=2>; rel="next"` }),
    });
  };
  const found = await open().referrers(
    { mediaType: MEDIA_TYPES.ociManifest, digest: subject as Descriptor['digest'], size: 1 },
    'b',
    call(),
  );
  assert.deepEqual(
    found.map((d) => d.digest),
    [entry(6, 'b').digest, entry(5, 'b').digest],
  );
  assert.equal(fake.requests[0]?.query, 'artifactType=b');
});

test('blob redirects are followed; credentials never travel to the other origin', async () => {
  const storage = await startFakeRegistry((req, res) => {
    if (req.path !== '/storage/blob') return false;
    res.writeHead(200, { 'content-length': String(BLOB.byteLength) }).end(Buffer.from(BLOB));
    return true;
  });
  try {
    fake.route = (req, res) => {
      if (req.path !== `/v2/acme/app/blobs/${BLOB_DESCRIPTOR.digest}`) return false;
      res.writeHead(307, { location: `${storage.url}/storage/blob?X-Amz-Signature=secret` }).end();
      return true;
    };
    const bytes = await fetchAll(open({ credentials: { registryToken: 'registry-only' } }), BLOB_DESCRIPTOR, call());
    assert.deepEqual(bytes, BLOB);
    assert.equal(fake.requests[0]?.headers.authorization, 'Bearer registry-only');
    assert.equal(storage.requests[0]?.headers.authorization, undefined);
  } finally {
    await storage.stop();
  }
});

async function drain(repo: HttpRepository): Promise<void> {
  for await (const _tag of repo.tags(call())) void _tag;
}
