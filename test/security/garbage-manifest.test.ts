// Attack / fault (issue #7 items 2 and 11): a registry answers a manifest request with something that is
// not a manifest (a HEAD whose Docker-Content-Digest the GET does not back, 200 with garbage JSON, a body of
// another media type, a digest header that lies). Today the garbage's sha256 is pinned and cached for the
// TTL. Defence: only a manifest of a manifest media type whose bytes hash to the digest is pinned; anything
// else pins nothing and is asked again next time (never cached).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { admissionReview, decodePatch, ociRepository } from '../helpers/admission.ts';
import { json, sendManifest, sha256, startFakeRegistry } from '../helpers/fake-registry.ts';
import type { FakeRegistry } from '../helpers/fake-registry.ts';
import { TENANT_ADDRESS, TENANT_POLICY, manifestBytes, webhook } from './fixtures.ts';

const GOOD = manifestBytes('good');
const GARBAGE = json({ hello: 'world', note: 'not a manifest' });
const NO_MEDIA_TYPE = json({
  schemaVersion: 2,
  config: { mediaType: 'x', digest: sha256(GARBAGE), size: 1 },
  layers: [],
});
const OCI = 'application/vnd.oci.image.manifest.v1+json';

/** tag → the one code its failure carries (no "either of two"). */
const EXPECTED: Record<string, string> = {
  'head-lies': 'PW_REGISTRY_PROTOCOL',
  'garbage-json': 'PW_REGISTRY_PROTOCOL',
  'html-page': 'PW_REGISTRY_PROTOCOL',
  'json-not-manifest-type': 'PW_REGISTRY_PROTOCOL',
  'index-says-manifest': 'PW_REGISTRY_PROTOCOL',
  'digest-lies': 'PW_DIGEST_MISMATCH',
};

/** tag → how the registry answers HEAD and GET for it. */
const answers: Record<string, (head: boolean) => { bytes: Uint8Array; digest?: string | null; mediaType?: string }> = {
  good: () => ({ bytes: GOOD }),
  'head-lies': (head) => (head ? { bytes: GOOD } : { bytes: GARBAGE, digest: null }),
  'garbage-json': () => ({ bytes: GARBAGE }),
  'html-page': () => ({ bytes: new TextEncoder().encode('<html>welcome</html>'), mediaType: 'text/html' }),
  'json-not-manifest-type': () => ({ bytes: NO_MEDIA_TYPE, mediaType: 'application/json' }),
  'index-says-manifest': () => ({
    bytes: json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }),
    mediaType: OCI,
  }),
  'digest-lies': () => ({ bytes: GOOD, digest: sha256(GARBAGE) }),
};

let tenant: FakeRegistry;

before(async () => {
  tenant = await startFakeRegistry((request, res) => {
    const tag = /\/manifests\/([^/]+)$/.exec(request.path)?.[1] ?? '';
    const answer = answers[tag];
    if (!answer) return false;
    const { bytes, ...options } = answer(request.method === 'HEAD');
    return sendManifest(res, bytes, { head: request.method === 'HEAD', ...options });
  }, TENANT_ADDRESS);
});

after(async () => {
  await tenant.stop();
});

const objectFor = (tag: string) =>
  ociRepository({ url: `oci://${tenant.host}/acme/app`, ref: { tag }, insecure: true });
const manifestRequests = (tag: string) =>
  tenant.requests.filter((request) => request.path.endsWith(`/manifests/${tag}`)).length;

for (const tag of Object.keys(answers).filter((name) => name !== 'good')) {
  test(`${tag}: nothing is pinned, and the next admission asks the registry again (no cached "success")`, async () => {
    const { h, pins } = webhook(TENANT_POLICY);
    try {
      const first = await h.review('/mutate', admissionReview(objectFor(tag)));
      assert.equal(first.response.patch, undefined, `pinned ${JSON.stringify(decodePatch(first.response))}`);
      assert.match(first.response.warnings[0], new RegExp(`\\(${EXPECTED[tag]}\\)`));
      const asked = manifestRequests(tag);
      const second = await h.review('/mutate', admissionReview(objectFor(tag)));
      assert.equal(second.response.patch, undefined);
      assert.ok(manifestRequests(tag) > asked, 'the failure was not cached');
    } finally {
      pins.close();
    }
  });
}

test('a well-formed manifest pins the sha256 of its bytes, and is cached', async () => {
  const { h, pins } = webhook(TENANT_POLICY);
  try {
    const first = await h.review('/mutate', admissionReview(objectFor('good')));
    assert.equal(decodePatch(first.response).find((op) => op.path === '/spec/ref/digest')?.value, sha256(GOOD));
    const asked = manifestRequests('good');
    await h.review('/mutate', admissionReview(objectFor('good')));
    assert.equal(manifestRequests('good'), asked);
  } finally {
    pins.close();
  }
});
