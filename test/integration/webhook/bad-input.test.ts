// Envelope problems get real HTTP errors with a catalogued code and a message; nothing crashes or hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admissionReview, ociRepository } from '../../helpers/admission.ts';
import { startHarness } from './harness.ts';

const h = startHarness();

async function post(url: string, payload: string | Buffer, contentType: string | undefined = 'application/json') {
  const reply = await h.app.inject({
    method: 'POST',
    url,
    payload,
    headers: contentType ? { 'content-type': contentType } : {},
  });
  return { status: reply.statusCode, body: reply.body === '' ? undefined : JSON.parse(reply.body) };
}

const valid = admissionReview(ociRepository());
const cases: Array<{ name: string; payload: string | Buffer; contentType?: string; status: number; code: string }> = [
  { name: 'non-JSON', payload: '{"apiVersion": admission', status: 400, code: 'PW_REVIEW_MALFORMED' },
  { name: 'empty body', payload: '', status: 400, code: 'PW_REVIEW_MALFORMED' },
  { name: 'JSON but not an object', payload: '[1,2,3]', status: 400, code: 'PW_REVIEW_MALFORMED' },
  { name: 'JSON null', payload: 'null', status: 400, code: 'PW_REVIEW_MALFORMED' },
  {
    name: 'missing request',
    payload: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
    status: 400,
    code: 'PW_REVIEW_MALFORMED',
  },
  {
    name: 'request not an object',
    payload: JSON.stringify({ ...valid, request: 'x' }),
    status: 400,
    code: 'PW_REVIEW_MALFORMED',
  },
  {
    name: 'missing uid',
    payload: JSON.stringify({ ...valid, request: { ...valid.request, uid: undefined } }),
    status: 400,
    code: 'PW_REVIEW_MALFORMED',
  },
  {
    name: 'admission.k8s.io/v1beta1',
    payload: JSON.stringify({ ...valid, apiVersion: 'admission.k8s.io/v1beta1' }),
    status: 400,
    code: 'PW_REVIEW_MALFORMED',
  },
  {
    name: 'wrong kind',
    payload: JSON.stringify({ ...valid, kind: 'ConversionReview' }),
    status: 400,
    code: 'PW_REVIEW_MALFORMED',
  },
  {
    name: 'text/plain',
    payload: JSON.stringify(valid),
    contentType: 'text/plain',
    status: 415,
    code: 'PW_REVIEW_MEDIA_TYPE',
  },
  {
    name: 'application/yaml',
    payload: 'apiVersion: admission.k8s.io/v1',
    contentType: 'application/yaml',
    status: 415,
    code: 'PW_REVIEW_MEDIA_TYPE',
  },
  {
    name: 'body over 3 MiB',
    payload: JSON.stringify({ ...valid, padding: 'x'.repeat(3 * 1024 * 1024) }),
    status: 413,
    code: 'PW_REVIEW_TOO_LARGE',
  },
];

for (const route of ['/mutate', '/validate']) {
  for (const c of cases) {
    test(`${route}: ${c.name} → ${c.status} ${c.code}`, async () => {
      const { status, body } = await post(route, c.payload, c.contentType);
      assert.equal(status, c.status);
      assert.equal(body.code, c.code);
      assert.equal(typeof body.message, 'string');
      assert.ok(body.message.length > 0);
    });
  }
}

test('a body just under 3 MiB is still answered', async () => {
  const object = { ...ociRepository(), padding: 'x'.repeat(3 * 1024 * 1024 - 4096) };
  const { status, body } = await post('/validate', JSON.stringify(admissionReview(object)));
  assert.equal(status, 200);
  assert.equal(typeof body.response.allowed, 'boolean');
});

test('application/json with a charset parameter is accepted', async () => {
  const { status } = await post('/validate', JSON.stringify(valid), 'application/json; charset=utf-8');
  assert.equal(status, 200);
});

test('a repeated, malformed or absurd ?timeout= is answered under the default deadline, not a 500', async () => {
  for (const query of ['?timeout=1s&timeout=2s', '?timeout=ten', '?timeout=-5s', `?timeout=${'9'.repeat(80)}h`]) {
    for (const route of ['/validate', '/mutate']) {
      const { status, body } = await post(`${route}${query}`, JSON.stringify(valid));
      assert.equal(status, 200, `${route}${query}`);
      assert.equal(body.response.uid, valid.request.uid, `${route}${query}`);
    }
  }
});

test('unknown path and wrong method → 404', async () => {
  assert.equal((await post('/mutating', JSON.stringify(valid))).status, 404);
  assert.equal((await post('/', JSON.stringify(valid))).status, 404);
  const get = await h.app.inject({ method: 'GET', url: '/validate' });
  assert.equal(get.statusCode, 404);
});

test('the server still answers after every bad request', async () => {
  const reply = await h.app.inject({ method: 'POST', url: '/validate', payload: valid });
  assert.equal(reply.statusCode, 200);
});
