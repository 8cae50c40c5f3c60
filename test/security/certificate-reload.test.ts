// Attack / mistake (issue #7 item 9): a rotation that drops in an expired certificate, one not valid yet, or
// one that no longer covers the name the apiserver dials, took the webhook off the air for every admission
// (failurePolicy: Fail). Defence: such a pair is refused and logged, the old one keeps serving. And the
// TLS settings: 1.2 minimum, Mozilla "intermediate" ciphers (no CBC, no SHA-1). Against the real `serve`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { LeafOptions } from '../helpers/certs.ts';
import { startServeProcess } from './serve-process.ts';
import type { ServeProcess } from './serve-process.ts';

const DAY_MS = 86_400_000;
let serve: ServeProcess;

before(async () => {
  serve = await startServeProcess({ policy: 'ociRepository: {allowKeyBased: false}' });
});

after(async () => {
  assert.equal(await serve.stop(), 0);
});

function handshake(
  options: { ciphers?: string; maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; minVersion?: 'TLSv1' | 'TLSv1.2' } = {},
): Promise<{ fingerprint: string; cipher: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: serve.webhookPort, ca: serve.ca.certPem, servername: 'localhost', ...options },
      () => {
        const result = {
          fingerprint: socket.getPeerX509Certificate()?.fingerprint256 ?? '',
          cipher: socket.getCipher().name,
        };
        socket.end();
        resolve(result);
      },
    );
    socket.on('error', reject);
  });
}

async function install(leaf: LeafOptions): Promise<string> {
  const pair = await serve.ca.issue(leaf);
  // Key first, then certificate, each by rename: what cert-manager and kubelet's atomic writer produce.
  writeFileSync(join(serve.work, 'tls.key.new'), pair.keyPem);
  writeFileSync(join(serve.work, 'tls.crt.new'), pair.certPem);
  renameSync(join(serve.work, 'tls.key.new'), join(serve.work, 'tls.key'));
  renameSync(join(serve.work, 'tls.crt.new'), join(serve.work, 'tls.crt'));
  return new X509Certificate(pair.certPem).fingerprint256;
}

async function refusal(count: number): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const refused = serve.logs.filter((line) => String(line.msg).startsWith('serving certificate not reloaded'));
    if (refused.length >= count) return String(refused[count - 1]?.msg);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail('the new pair was neither refused nor logged');
}

const original = (): string => new X509Certificate(serve.serving.certPem).fingerprint256;

test('an expired new certificate is refused and logged; the old one keeps serving', async () => {
  await install({
    commonName: 'pinwarden',
    usage: 'server',
    ips: ['127.0.0.1'],
    dns: ['localhost'],
    notBefore: new Date(Date.now() - 10 * DAY_MS),
    notAfter: new Date(Date.now() - DAY_MS),
  });
  assert.match(await refusal(1), /expired at/);
  assert.equal((await handshake()).fingerprint, original());
});

test('a certificate not valid yet is refused', async () => {
  await install({
    commonName: 'pinwarden',
    usage: 'server',
    ips: ['127.0.0.1'],
    dns: ['localhost'],
    notBefore: new Date(Date.now() + DAY_MS),
    notAfter: new Date(Date.now() + 10 * DAY_MS),
  });
  assert.match(await refusal(2), /not valid before/);
  assert.equal((await handshake()).fingerprint, original());
});

test('a certificate that lacks a name the current one serves is refused, naming it', async () => {
  await install({ commonName: 'pinwarden', usage: 'server', ips: [], dns: ['localhost'] });
  assert.match(await refusal(3), /lacks IP Address:127\.0\.0\.1/);
  assert.equal((await handshake()).fingerprint, original());
});

test('a valid certificate covering the same names (and more) is served to new connections', async () => {
  const next = await install({
    commonName: 'pinwarden',
    usage: 'server',
    ips: ['127.0.0.1'],
    dns: ['localhost', 'pinwarden.pinwarden-system.svc'],
  });
  let served = '';
  for (let attempt = 0; attempt < 100 && served !== next; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    served = (await handshake()).fingerprint;
  }
  assert.equal(served, next);
});

test('TLS 1.1 and CBC/SHA-1 suites are refused; an AEAD suite on TLS 1.2 is accepted', async () => {
  // SECLEVEL=0 lets this client offer TLS 1.1 (OpenSSL 3 would refuse locally): the refusal must be the server's.
  await assert.rejects(handshake({ maxVersion: 'TLSv1.1', minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' }), {
    code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  });
  await assert.rejects(
    handshake({
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256',
    }),
    { code: 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE' },
  );
  assert.equal(
    (await handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).cipher,
    'ECDHE-ECDSA-AES128-GCM-SHA256',
  );
  assert.match((await handshake()).cipher, /^TLS_(AES_\d+_GCM|CHACHA20_POLY1305)_SHA\d+$/);
});
