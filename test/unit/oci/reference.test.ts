import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { formatReference, parseReference, parseRepositoryUrl } from '../../../src/oci/index.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

test('spec.url parsing follows source-controller and go-containerregistry', async (t) => {
  const table: [string, { registry: string; host: string; path: string }][] = [
    [
      'oci://ghcr.io/stefanprodan/manifests/podinfo',
      { registry: 'ghcr.io', host: 'ghcr.io', path: 'stefanprodan/manifests/podinfo' },
    ],
    ['oci://localhost:5000/app', { registry: 'localhost:5000', host: 'localhost:5000', path: 'app' }],
    ['oci://127.0.0.1:5000/a/b', { registry: '127.0.0.1:5000', host: '127.0.0.1:5000', path: 'a/b' }],
    [
      'oci://Registry.Example.COM/team/app',
      { registry: 'registry.example.com', host: 'registry.example.com', path: 'team/app' },
    ],
    ['oci://docker.io/alpine', { registry: 'index.docker.io', host: 'registry-1.docker.io', path: 'library/alpine' }],
    ['oci://index.docker.io/org/app', { registry: 'index.docker.io', host: 'registry-1.docker.io', path: 'org/app' }],
    // No '.' or ':' in the first segment: the whole path is a Docker Hub repository (ggcr rule).
    ['oci://org/app', { registry: 'index.docker.io', host: 'registry-1.docker.io', path: 'org/app' }],
    ['oci://alpine', { registry: 'index.docker.io', host: 'registry-1.docker.io', path: 'library/alpine' }],
    ['oci://[::1]:5000/app', { registry: '[::1]:5000', host: '[::1]:5000', path: 'app' }],
    ['oci://r.io/a__b/c-d/e.f', { registry: 'r.io', host: 'r.io', path: 'a__b/c-d/e.f' }],
  ];
  for (const [url, expected] of table) {
    await t.test(url, () => assert.deepEqual(parseRepositoryUrl(url), expected));
  }
});

test('spec.url rejections are PW_REF_INVALID with Flux wording', async (t) => {
  const table: [string, RegExp][] = [
    ['ghcr.io/org/app', /URL must be in format 'oci:\/\/<domain>\/<org>\/<repo>'/],
    ['https://ghcr.io/org/app', /URL must be in format/],
    ['oci://ghcr.io/org/app:v1.0.0', /URL must not contain a tag; remove ':v1.0.0'/],
    ['oci://localhost:5000/app:latest', /URL must not contain a tag; remove ':latest'/],
    [`oci://ghcr.io/org/app@${DIGEST}`, /URL must not contain a tag; remove ':a+'|digest/],
    ['oci://ghcr.io/org/App', /must be lowercase/],
    ['oci://ghcr.io/org//app', /must be lowercase/],
    ['oci://ghcr.io/org/../app', /must be lowercase/],
    ['oci://ghcr.io/', /2 to 255/],
    ['oci://ghcr.io:99999/app', /invalid registry host/],
    ['oci://gh_cr.io/app', /invalid registry host/],
  ];
  for (const [url, message] of table) {
    await t.test(url, () => {
      assert.throws(
        () => parseRepositoryUrl(url),
        (error: unknown) =>
          error instanceof PinwardenError && error.code === 'PW_REF_INVALID' && message.test(error.message),
      );
    });
  }
});

test('CLI references carry a tag or a digest', () => {
  assert.deepEqual(parseReference('oci://ghcr.io/org/app:v1.2.3'), {
    registry: 'ghcr.io',
    host: 'ghcr.io',
    path: 'org/app',
    tag: 'v1.2.3',
  });
  assert.deepEqual(parseReference(`oci://localhost:5000/app@${DIGEST}`), {
    registry: 'localhost:5000',
    host: 'localhost:5000',
    path: 'app',
    digest: DIGEST,
  });
  assert.deepEqual(parseReference(`oci://r.io/app:v1@${DIGEST}`), {
    registry: 'r.io',
    host: 'r.io',
    path: 'app',
    tag: 'v1',
    digest: DIGEST,
  });
  assert.deepEqual(parseReference('oci://localhost:5000/app'), {
    registry: 'localhost:5000',
    host: 'localhost:5000',
    path: 'app',
  });
  assert.deepEqual(parseReference('oci://docker.io/nginx:1.27'), {
    registry: 'index.docker.io',
    host: 'registry-1.docker.io',
    path: 'library/nginx',
    tag: '1.27',
  });
});

test('CLI reference rejections', () => {
  for (const bad of [
    'oci://r.io/app:',
    'oci://r.io/app:-x',
    `oci://r.io/app:${'t'.repeat(129)}`,
    'oci://r.io/app@sha256:abc',
    `oci://r.io/app@sha512:${'a'.repeat(128)}`,
    'oci://r.io/APP:v1',
  ]) {
    assert.throws(
      () => parseReference(bad),
      (error: unknown) => error instanceof PinwardenError && error.code === 'PW_REF_INVALID',
      bad,
    );
  }
});

test('error messages never echo a query string or userinfo', () => {
  assert.throws(
    () => parseRepositoryUrl('oci://user:hunter2@ghcr.io/app?token=abc'),
    (error: unknown) =>
      error instanceof PinwardenError && !error.message.includes('hunter2') && !error.message.includes('token=abc'),
  );
});

test('formatReference round-trips', () => {
  for (const ref of [
    'oci://ghcr.io/org/app:v1',
    `oci://localhost:5000/app@${DIGEST}`,
    'oci://index.docker.io/library/alpine:3',
  ]) {
    assert.equal(formatReference(parseReference(ref)), ref);
  }
});
