// Attack (issue #7 item 5): 732 sequential /mutate requests with a 2.9 MB spec.url took the webhook from
// 160 MiB to out-of-memory in 24 s (every cache kept the URL as its key). Defence: input caps checked before
// any work (the URL never reaches a cache, a parser or a registry), and every cache bounded in bytes with
// hashed keys. A long semver range against thousands of tags is capped and its selection yields.
// Against the real `serve` process on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startFakeRegistry, sendJson, sendManifest } from '../helpers/fake-registry.ts';
import type { FakeRegistry } from '../helpers/fake-registry.ts';
import { manifestBytes } from './fixtures.ts';
import { reviewText, startServeProcess } from './serve-process.ts';
import type { ServeProcess } from './serve-process.ts';

const POLICY =
  'ociRepository: {allowKeyBased: false, requireVerify: false, allowInsecure: true, mutate: {semverToDigest: true}}\nregistry: {allowNetworks: ["127.0.0.0/8", "::1/128"]}';
const HUGE_URL = `oci://ghcr.io/acme/${'a'.repeat(2.9 * 1024 * 1024)}`;
const TAGS = Array.from({ length: 5000 }, (_, index) => `${Math.floor(index / 100)}.${index % 100}.0`);

let serve: ServeProcess;
let registry: FakeRegistry;

before(async () => {
  registry = await startFakeRegistry((request, res: ServerResponse) => {
    if (request.path === '/v2/acme/app/tags/list') return sendJson(res, 200, { name: 'acme/app', tags: TAGS });
    if (request.path.startsWith('/v2/acme/app/manifests/'))
      return sendManifest(res, manifestBytes(request.path), { head: request.method === 'HEAD' });
    return false;
  });
  serve = await startServeProcess({ policy: POLICY });
});

after(async () => {
  await registry.stop();
  assert.equal(await serve.stop(), 0);
});

test('/mutate with a 2.9 MB spec.url: allowed unchanged, the warning names the cap; 200 of them leave memory flat', async () => {
  const body = reviewText({ url: HUGE_URL, ref: { tag: 'v1' } }, 'mem-0');
  const first = await serve.post('/mutate?timeout=10s', body);
  assert.equal(first.status, 200);
  assert.equal(first.json.response.allowed, true);
  assert.equal(first.json.response.patch, undefined);
  assert.match(first.json.response.warnings[0], /PW_INPUT_TOO_LARGE.*spec\.url.*2048 bytes/);
  assert.ok(first.text.length < 2048, `the answer does not echo the URL (${first.text.length} bytes)`);
  // Warm-up done (TLS, JIT, buffers); from here on memory must not grow with the number of requests.
  for (let index = 0; index < 20; index++) await serve.post('/mutate?timeout=10s', body);
  const settled = serve.rssBytes();
  for (let index = 0; index < 200; index++) {
    const answer = await serve.post('/mutate?timeout=10s', body);
    assert.equal(answer.json.response.allowed, true);
  }
  const grown = serve.rssBytes() - settled;
  // 200 × 2.9 MB = 580 MB went through; unbounded caches kept ~2 copies each. Allow GC slack only.
  assert.ok(grown < 96 * 1024 * 1024, `RSS grew ${Math.round(grown / 1048576)} MiB over 200 requests`);
});

test('/validate denies the 2.9 MB URL naming the cap, without echoing it', async () => {
  const answer = await serve.post('/validate?timeout=10s', reviewText({ url: HUGE_URL, ref: { tag: 'v1' } }, 'mem-1'));
  assert.equal(answer.json.response.allowed, false);
  assert.match(
    answer.json.response.status.message,
    /\[input-too-large\] spec\.url: spec\.url is at least \d+ bytes, over the cap of 2048 bytes/,
  );
  assert.ok(answer.text.length < 4096, `answer of ${answer.text.length} bytes`);
});

test('a 257-character semver range is refused before the registry is asked; a 256-character one against 5,000 tags pins', async () => {
  const groups: string[] = [];
  for (let major = 0; groups.join(' || ').length < 230; major++) groups.push(`>=${major}.1.0 <${major}.2.0`);
  const range = groups.join(' || ').padEnd(256, ' ');
  assert.equal(range.length, 256);
  const before = registry.requests.length;
  const over = await serve.post(
    '/mutate?timeout=10s',
    reviewText({ url: `oci://${registry.host}/acme/app`, insecure: true, ref: { semver: `${range} ` } }, 'mem-2'),
  );
  assert.match(over.json.response.warnings[0], /PW_INPUT_TOO_LARGE.*spec\.ref\.semver.*256 characters/);
  assert.equal(registry.requests.length, before, 'the registry was not asked');

  let worst = 0;
  let done = false;
  const probing = (async () => {
    while (!done) {
      worst = Math.max(worst, await serve.healthzMs());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const pinned = await serve.post(
    '/mutate?timeout=10s',
    reviewText({ url: `oci://${registry.host}/acme/app`, insecure: true, ref: { semver: range } }, 'mem-3'),
  );
  done = true;
  await probing;
  assert.equal(pinned.json.response.patchType, 'JSONPatch', pinned.text);
  const patch = JSON.parse(Buffer.from(pinned.json.response.patch, 'base64').toString('utf8'));
  const annotation =
    patch.find((op: { path: string }) => op.path.includes('pinned-from'))?.value ?? JSON.stringify(patch);
  assert.match(annotation, /→ 49\.1\.0|→ \d+\.1\.0/);
  assert.ok(worst < 400, `/healthz took up to ${Math.round(worst)} ms during the selection`);
});
