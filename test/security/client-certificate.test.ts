// Attack (issue #7 item 4): anyone who can reach the webhook's port can POST a review naming another
// namespace, and the webhook reads that namespace's Secrets (pull credentials, keys) to decide it. With
// `serve --client-ca-file` only a caller holding a certificate from that CA (the apiserver, configured by its
// AdmissionConfiguration kubeConfigFile) completes the TLS handshake. Against the real `serve` on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa } from '../helpers/certs.ts';
import type { KeyPairPem, TestCa } from '../helpers/certs.ts';
import { reviewText, startServeProcess } from './serve-process.ts';
import type { ServeProcess } from './serve-process.ts';

let serve: ServeProcess;
let apiserverCa: TestCa;
let apiserver: KeyPairPem;
let intruder: KeyPairPem;

/** Names another tenant's pull Secret: deciding it would read `payments/registry-creds`. */
const CROSS_NAMESPACE = JSON.parse(
  reviewText({ url: 'oci://ghcr.io/payments/app', secretRef: { name: 'registry-creds' } }, 'cross-1'),
);
CROSS_NAMESPACE.request.namespace = 'payments';
CROSS_NAMESPACE.request.object.metadata.namespace = 'payments';
const BODY = JSON.stringify(CROSS_NAMESPACE);

before(async () => {
  apiserverCa = await createTestCa('apiserver client CA');
  apiserver = await apiserverCa.issue({ commonName: 'kube-apiserver', usage: 'client' });
  const elsewhere = await createTestCa('some other CA');
  intruder = await elsewhere.issue({ commonName: 'kube-apiserver', usage: 'client' });
  serve = await startServeProcess({
    policy: 'ociRepository: {allowKeyBased: false}',
    prepare: async (work) => {
      writeFileSync(join(work, 'client-ca.crt'), apiserverCa.certPem);
      return ['--client-ca-file', join(work, 'client-ca.crt')];
    },
  });
});

after(async () => {
  assert.equal(await serve.stop(), 0);
});

function reviewsLogged(uid: string): number {
  return serve.logs.filter((line) => line.msg === 'admission review' && line.reqId === uid).length;
}

test('without a client certificate the TLS handshake fails and no review is decided', async () => {
  await assert.rejects(serve.post('/validate?timeout=10s', BODY), (error: NodeJS.ErrnoException) =>
    /certificate|ECONNRESET|socket hang up|alert/i.test(`${error.code ?? ''} ${error.message}`),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(reviewsLogged('cross-1'), 0);
});

test('a client certificate from another CA (same common name) is refused', async () => {
  await assert.rejects(serve.post('/validate?timeout=10s', BODY, { cert: intruder.certPem, key: intruder.keyPem }));
  assert.equal(reviewsLogged('cross-1'), 0);
});

test("the apiserver's certificate is accepted and the review is decided", async () => {
  const answer = await serve.post('/validate?timeout=10s', BODY, { cert: apiserver.certPem, key: apiserver.keyPem });
  assert.equal(answer.status, 200);
  assert.equal(answer.json.response.uid, 'cross-1');
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(reviewsLogged('cross-1'), 1, 'the log check sees a decided review');
  const serving = serve.logs.find((line) => line.msg === 'pinwarden serving');
  assert.equal(serving?.clientCertificates, 'required');
});

test('a rotated client CA file is picked up with the serving pair, without a restart', async () => {
  const rotated = await createTestCa('apiserver client CA, rotated');
  const next = await rotated.issue({ commonName: 'kube-apiserver', usage: 'client' });
  const file = join(serve.work, 'client-ca.crt');
  writeFileSync(`${file}.tmp`, rotated.certPem);
  renameSync(`${file}.tmp`, file);
  // SIGHUP-free reload: the watcher sees the rename (inotify) within its debounce.
  let accepted = false;
  for (let attempt = 0; attempt < 60 && !accepted; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    accepted = await serve.post('/validate?timeout=10s', BODY, { cert: next.certPem, key: next.keyPem }).then(
      () => true,
      () => false,
    );
  }
  assert.ok(accepted, 'a certificate from the rotated CA is accepted');
  await assert.rejects(
    serve.post('/validate?timeout=10s', BODY, { cert: apiserver.certPem, key: apiserver.keyPem }),
    'the old CA no longer is',
  );
});
