// Attack (issue #7 item 2): make the webhook read something and show it back. Today up to 200 characters of
// a registry (or redirected) error body reach the /validate denial. Defence: admission answers carry the
// error code, the HTTP status and the host, never a response body; bodies go to the debug event only,
// summarised, capped and redacted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createMemorySecretReader } from '../../src/kube/index.ts';
import { createLogger } from '../../src/runtime/index.ts';
import { startServe } from '../../src/webhook/index.ts';
import { createTestCa } from '../helpers/certs.ts';
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
    const body = json
      ? JSON.stringify({ errors: [{ code: 'DENIED', message: SECRET, detail: SECRET }] })
      : LONG_SECRET_PAGE;
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
        const object = ociRepository({
          url: `oci://${tenant.host}/${repo}`,
          ref: { tag: `s${status}` },
          insecure: true,
        });
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

test('the real serve: the denial carries no body; the debug log has the capped, redacted summary for operators', async () => {
  const work = mkdtempSync(join(tmpdir(), 'pinwarden-readback-'));
  const ca = await createTestCa();
  const serving = await ca.issue({ commonName: 'webhook', usage: 'server', ips: ['127.0.0.1'] });
  writeFileSync(join(work, 'tls.crt'), serving.certPem);
  writeFileSync(join(work, 'tls.key'), serving.keyPem);
  const spec = TENANT_POLICY.split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  writeFileSync(
    join(work, 'policy.yaml'),
    `apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: readback}\nspec:\n${spec}\n`,
  );
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  const server = await startServe({
    port: 0,
    metricsPort: 0,
    host: '127.0.0.1',
    tlsCert: join(work, 'tls.crt'),
    tlsKey: join(work, 'tls.key'),
    config: join(work, 'policy.yaml'),
    secrets: createMemorySecretReader(),
    logger: createLogger({ destination, level: 'debug' }),
  });
  try {
    const object = ociRepository({ url: `oci://${tenant.host}/acme/page`, ref: { tag: 's403' }, insecure: true });
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${server.webhookUrl}/validate?timeout=10s`,
        { method: 'POST', ca: ca.certPem, agent: false, headers: { 'content-type': 'application/json' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(admissionReview(object)));
    });
    assert.match(answer, /: 403[^"]*\[PW_REGISTRY_AUTH\]/);
    assert.ok(!answer.includes(SECRET), answer);
    const logged = logs.find((line) => line.msg === 'registry error body');
    assert.ok(logged, 'the body reached the debug log');
    assert.equal(logged.status, 403);
    assert.ok(String(logged.body).includes(SECRET), 'operators can read it');
    assert.ok(String(logged.body).length <= 201 && !String(logged.body).includes('abc.def.ghi'), 'capped and redacted');
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
});
