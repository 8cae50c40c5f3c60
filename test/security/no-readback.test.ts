// Attack (issue #7 item 2): make the webhook read something and show it back. Today up to 200 characters of
// a registry (or redirected) error body reach the /validate denial. Defence: admission answers carry the
// error code, the HTTP status and the host, never a response body; bodies go to the debug event only,
// summarised, capped and redacted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { admissionReview, ociRepository } from '../helpers/admission.ts';
import { startFakeRegistry } from '../helpers/fake-registry.ts';
import type { FakeRegistry } from '../helpers/fake-registry.ts';
import { SECRET, TENANT_ADDRESS, TENANT_POLICY, webhook } from './fixtures.ts';

let tenant: FakeRegistry;
const LONG_SECRET_PAGE = `<html>${SECRET} Authorization: Bearer abc.def.ghi ${'x'.repeat(5000)}</html>`;

before(async () => {
  tenant = await startFakeRegistry((request, res) => {
    const status = Number(/\/manifests\/s(\d{3})$/.exec(request.path)?.[1] ?? 404);
    const json = request.path.includes('json');
    const body = json ? JSON.stringify({ errors: [{ code: 'DENIED', message: SECRET, detail: SECRET }] }) : LONG_SECRET_PAGE;
    res.writeHead(status, { 'content-type': json ? 'application/json' : 'text/html' }).end(body);
    return true;
  }, TENANT_ADDRESS);
});

after(async () => {
  await tenant.stop();
});

for (const status of [400, 401, 403, 404, 500]) {
  test(`a ${status} answer with a body: the denial names code, status and host, and none of the body`, async () => {
    const { h, pins, events } = webhook(TENANT_POLICY);
    try {
      for (const repo of ['acme/page', 'acme/json']) {
        const object = ociRepository({ url: `oci://${tenant.host}/${repo}`, ref: { tag: `s${status}` }, insecure: true });
        const mutated = await h.review('/mutate', admissionReview(object));
        const validated = await h.review('/validate', admissionReview(object));
        const answers = JSON.stringify([mutated.body, validated.body]);
        assert.ok(!answers.includes(SECRET), answers);
        assert.ok(!answers.includes('Bearer abc'), answers);
        const message = String(validated.response.status.message);
        assert.ok(message.includes(tenant.host), message);
        assert.match(message, new RegExp(`: ${status}\\b[^\\n]*\\[PW_[A-Z_]+\\]`));
      }
      const logged = events.filter((event) => event.type === 'response-body');
      assert.ok(logged.length > 0, 'bodies reach the debug event');
      for (const event of logged) {
        assert.ok(event.type === 'response-body' && event.summary.length <= 201, 'capped');
        assert.ok(event.type === 'response-body' && !event.summary.includes('abc.def.ghi'), 'credentials redacted');
      }
    } finally {
      pins.close();
    }
  });
}
