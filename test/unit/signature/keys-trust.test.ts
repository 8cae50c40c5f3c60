// Key-based verification across key types, trust-root loading (offline, validated) and the cache key.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SignerPolicy } from '../../../src/signature/index.ts';
import {
  keySetId,
  parseBundleBytes,
  parsePublicKey,
  parseTrustedRoot,
  publicGoodTrustRoot,
  publicKeysFromSecretData,
  secretTrustRootSource,
  signatureCacheKey,
  verifyBlockFromView,
  verifyBundleJson,
  verifyLegacySignature,
} from '../../../src/signature/index.ts';
import { verifyBundle } from '../../../src/signature/bundle-verify.ts';
import type { SigstoreFixture } from '../../helpers/sigstore-fixtures.ts';
import { createSigstoreFixture, pemOfPublicKey } from '../../helpers/sigstore-fixtures.ts';
import { dsseBundle, legacySignature } from '../../helpers/sigstore-fixtures-sign.ts';

const DIGEST = `sha256:${'d'.repeat(64)}` as const;
const call = { signal: AbortSignal.timeout(5000) };
let fixture: SigstoreFixture;
before(async () => {
  fixture = await createSigstoreFixture();
});

const KEY_TYPES = [
  ['ECDSA P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ['ECDSA P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' })],
  ['RSA 2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ['Ed25519', () => generateKeyPairSync('ed25519')],
] as const;

for (const [name, generate] of KEY_TYPES) {
  test(`key-based legacy signature with ${name}: verifies with its key only`, () => {
    const signer = generate();
    const keys = publicKeysFromSecretData(
      { 'a.pub': pemOfPublicKey(generate().publicKey), 'b.pub': pemOfPublicKey(signer.publicKey) },
      'secret k',
    );
    const outcome = verifyLegacySignature(legacySignature(signer, 'r/app', DIGEST), DIGEST, {
      mode: 'key',
      keys,
      requireTlog: false,
    });
    assert.equal(outcome.keyName, 'b.pub');
    const wrong = publicKeysFromSecretData({ 'a.pub': pemOfPublicKey(generate().publicKey) }, 'secret k');
    assert.throws(
      () =>
        verifyLegacySignature(legacySignature(signer, 'r/app', DIGEST), DIGEST, {
          mode: 'key',
          keys: wrong,
          requireTlog: false,
        }),
      { code: 'PW_SIGNATURE_INVALID', subCode: 'SIGNATURE_ERROR' },
    );
  });
}

test('key-based: the tlog entry must name the configured key when the tlog is required', () => {
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const impostor = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys = [parsePublicKey('cosign.pub', pemOfPublicKey(signer.publicKey), 'test')];
  const policy: SignerPolicy = {
    mode: 'key',
    keys,
    requireTlog: true,
    trustRoot: parseTrustedRoot(fixture.trustedRootBytes, 'fixture'),
  };
  const honest = legacySignature(signer, 'r/app', DIGEST, { rekor: fixture.rekor, logIndex: 5 });
  assert.equal(verifyLegacySignature(honest, DIGEST, policy).logIndex, '5');
  const lying = legacySignature(signer, 'r/app', DIGEST, {
    rekor: fixture.rekor,
    loggedVerifierPem: pemOfPublicKey(impostor.publicKey),
  });
  assert.throws(() => verifyLegacySignature(lying, DIGEST, policy), {
    code: 'PW_SIGNATURE_INVALID',
    subCode: 'TLOG_BODY_ERROR',
  });
  const bundle = dsseBundle(signer, DIGEST, {
    rekor: fixture.rekor,
    loggedVerifierPem: pemOfPublicKey(impostor.publicKey),
  });
  assert.throws(() => verifyBundleJson(bundle, { digest: DIGEST }, policy), {
    code: 'PW_SIGNATURE_INVALID',
    subCode: 'TLOG_BODY_ERROR',
  });
  assert.throws(() => verifyLegacySignature(legacySignature(signer, 'r/app', DIGEST), DIGEST, policy), {
    code: 'PW_SIGNATURE_INVALID',
    subCode: 'BUNDLE_ERROR',
  });
});

test('Secret data: only *.pub entries count; unparsable or unsupported keys abort with the entry name, never its bytes', () => {
  const pem = pemOfPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
  assert.deepEqual(
    publicKeysFromSecretData({ 'cosign.pub': pem, 'cosign.key': 'PRIVATE', 'notes.txt': 'x' }, 's').map((k) => k.name),
    ['cosign.pub'],
  );
  assert.throws(
    () => publicKeysFromSecretData({ 'cosign.key': 'x' }, "secret 'keys'"),
    /no cosign public keys .* in secret 'keys'/,
  );
  assert.throws(
    () => publicKeysFromSecretData({ 'bad.pub': 'SECRET-MATERIAL' }, 's'),
    (e: Error) => /'bad\.pub'/.test(e.message) && !e.message.includes('SECRET-MATERIAL'),
  );
  assert.throws(
    () => publicKeysFromSecretData({ 'x.pub': pemOfPublicKey(generateKeyPairSync('x25519').publicKey) }, 's'),
    /unsupported type x25519/,
  );
});

test('trust roots: public good from seeds.json (offline), custom roots validated', async () => {
  const publicGood = publicGoodTrustRoot();
  assert.match(publicGood.id, /^sha256:[0-9a-f]{64}$/);
  assert.ok(publicGood.ctlogCount >= 1);
  assert.equal(publicGoodTrustRoot(), publicGood, 'parsed once');
  assert.throws(() => parseTrustedRoot(Buffer.from('{'), 'file x'), /trusted root from file x is not JSON/);
  assert.throws(
    () => parseTrustedRoot(Buffer.from('{"mediaType":"text/plain"}'), 'file x'),
    /no sigstore trustedroot mediaType/,
  );
  const root = JSON.parse(fixture.trustedRootBytes.toString());
  delete root.certificateAuthorities[0].validFor.start;
  assert.throws(
    () => parseTrustedRoot(Buffer.from(JSON.stringify(root)), 'file x'),
    /missing certificateAuthorities\[0\]\.validFor\.start/,
  );
  const source = secretTrustRootSource(async (name): Promise<Record<string, string>> =>
    name === 'root' ? { 'trusted_root.json': fixture.trustedRootBytes.toString() } : {},
  );
  assert.equal((await source.trustRoot({ provider: 'cosign' }, call)).id, publicGood.id);
  assert.equal(
    (await source.trustRoot({ provider: 'cosign', trustedRootSecretRef: { name: 'root' } }, call)).source,
    'secret root',
  );
  await assert.rejects(
    source.trustRoot({ provider: 'cosign', trustedRootSecretRef: { name: 'other' } }, call),
    /'trusted_root\.json' not found in secret 'other'/,
  );
});

test('structural check: an inclusion proof without its checkpoint is refused by name (sigstore-js would crash)', () => {
  const dir = join(import.meta.dirname, '../../../../shared/data/sigstore/conformance/bundle-verify/happy-path-v0.1');
  const json = JSON.parse(readFileSync(join(dir, 'bundle.sigstore.json'), 'utf8'));
  delete json.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint;
  const bundle = parseBundleBytes(Buffer.from(JSON.stringify(json)));
  const policy: SignerPolicy = {
    mode: 'keyless',
    trustRoot: publicGoodTrustRoot(),
    identity: { identities: [], allowAnyIdentity: true },
  };
  assert.throws(() => verifyBundle(bundle, { artifact: readFileSync(join(dir, '../a.txt')) }, policy), {
    code: 'PW_SIGNATURE_INVALID',
    subCode: 'TLOG_INCLUSION_PROOF_ERROR',
  });
});

test('cache key: stable for equivalent inputs, different when anything that matters changes', () => {
  const a = { issuer: '^a$', subject: '^b$' };
  const b = { issuer: '^c$', subject: '^d$' };
  const key = signatureCacheKey(DIGEST, { provider: 'cosign', matchOIDCIdentity: [a, b] }, 'sha256:root');
  assert.match(key, /^sig1:[0-9a-f]{64}$/);
  assert.equal(signatureCacheKey(DIGEST, { provider: 'cosign', matchOIDCIdentity: [b, a, a] }, 'sha256:root'), key);
  const variants = [
    signatureCacheKey(
      `sha256:${'e'.repeat(64)}` as const,
      { provider: 'cosign', matchOIDCIdentity: [a, b] },
      'sha256:root',
    ),
    signatureCacheKey(DIGEST, { provider: 'cosign', matchOIDCIdentity: [a] }, 'sha256:root'),
    signatureCacheKey(DIGEST, { provider: 'cosign', matchOIDCIdentity: [a, b] }, 'sha256:other-root'),
    signatureCacheKey(DIGEST, { provider: 'cosign', matchOIDCIdentity: [a, b] }, 'sha256:root', {
      allowAnyIdentity: true,
    }),
    signatureCacheKey(
      DIGEST,
      { provider: 'cosign', matchOIDCIdentity: [a, b], secretRef: { name: 'k' } },
      'sha256:root',
    ),
  ];
  assert.equal(new Set([key, ...variants]).size, 6);
  const keys = publicKeysFromSecretData({ 'a.pub': pemOfPublicKey(generateKeyPairSync('ed25519').publicKey) }, 's');
  assert.match(keySetId(keys), /^keys:sha256:[0-9a-f]{64}$/);
});

test("verify block from core's Flux view: names carried over, non-string patterns refused by field", () => {
  const view = {
    provider: 'cosign',
    hasSecretRef: true,
    secretName: 'keys',
    trustedRootSecretName: 'root',
    identities: [{ issuer: 'a', subject: 'b' }],
  };
  assert.deepEqual(verifyBlockFromView(view), {
    provider: 'cosign',
    secretRef: { name: 'keys' },
    trustedRootSecretRef: { name: 'root' },
    matchOIDCIdentity: [{ issuer: 'a', subject: 'b' }],
  });
  assert.throws(
    () => verifyBlockFromView({ ...view, identities: [{ issuer: 'a', subject: 42 }] }),
    /matchOIDCIdentity\[0\] needs string issuer and subject/,
  );
});
