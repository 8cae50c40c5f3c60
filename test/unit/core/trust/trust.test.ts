import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  keySetDecision,
  publicKeyFingerprint,
  sha256Name,
  trustedKeyFingerprint,
  trustedRootDecision,
} from '../../../../src/core/trust/index.ts';

const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = keys.publicKey.export({ format: 'pem', type: 'spki' }).toString();
const spkiSha = createHash('sha256')
  .update(keys.publicKey.export({ format: 'der', type: 'spki' }))
  .digest('hex');

test('a key fingerprint is sha256 of the DER SubjectPublicKeyInfo, as openssl pkey -outform DER | sha256sum gives', () => {
  assert.equal(publicKeyFingerprint(pem), `sha256:${spkiSha}`);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const pkcs1 = rsa.export({ format: 'pem', type: 'pkcs1' }).toString();
  assert.equal(
    publicKeyFingerprint(pkcs1),
    sha256Name(rsa.export({ format: 'der', type: 'spki' })),
    'an RSA PUBLIC KEY block names the same key',
  );
  assert.equal(trustedKeyFingerprint(`  sha256:${spkiSha}\n`), `sha256:${spkiSha}`);
  assert.equal(trustedKeyFingerprint(pem), `sha256:${spkiSha}`);
  assert.equal(publicKeyFingerprint('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), undefined);
  assert.equal(trustedKeyFingerprint(`SHA256:${spkiSha.toUpperCase()}`), undefined, 'one spelling only');
  const dh = generateKeyPairSync('x25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
  assert.equal(publicKeyFingerprint(dh), undefined, 'not a signing key type cosign uses');
});

test('a trusted root is named by sha256 of its exact bytes', () => {
  const bytes = Buffer.from('{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}\n');
  assert.equal(sha256Name(bytes), `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  assert.notEqual(sha256Name(bytes), sha256Name(bytes.subarray(0, -1)), 'a trailing newline is a different root');
});

test('decisions never echo a fingerprint or digest read from the Secret', () => {
  const tenant = `sha256:${'e'.repeat(64)}`;
  const keyDecision = keySetDecision({ trustedKeys: [pem], trustedRoots: [] }, 'cosign-pub', {
    ok: true,
    keys: [{ fingerprint: tenant }],
  });
  assert.ok(!keyDecision.trusted && !keyDecision.unseen);
  assert.ok(!keyDecision.message.includes(tenant) && !keyDecision.message.includes('e'.repeat(16)));
  const rootDecision = trustedRootDecision({ trustedKeys: [], trustedRoots: [`sha256:${'1'.repeat(64)}`] }, 'root', {
    ok: true,
    digest: tenant,
  });
  assert.ok(!rootDecision.trusted && !rootDecision.message.includes('e'.repeat(16)));
  assert.deepEqual(
    keySetDecision({ trustedKeys: [pem], trustedRoots: [] }, 'cosign-pub', {
      ok: true,
      keys: [{ fingerprint: `sha256:${spkiSha}` }],
    }),
    { trusted: true },
  );
});
