// A DSSE bundle is a cosign signature only when its in-toto statement has predicate type cosign/sign/v1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { assertCosignSignatureStatement } from '../../../src/signature/binding.ts';
import { parseBundle } from '../../../src/signature/bundle-verify.ts';
import { COSIGN_SIGN_PREDICATE, SLSA_PROVENANCE_PREDICATE, dsseBundle } from '../../helpers/sigstore-fixtures-sign.ts';

const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const bundleWith = (type: string) => parseBundle(dsseBundle(signer, DIGEST, {}, [DIGEST], { type }));

test('the cosign sign predicate is a signature', () => {
  assert.doesNotThrow(() => assertCosignSignatureStatement(bundleWith(COSIGN_SIGN_PREDICATE)));
});

test('any other predicate is an attestation, named (cut) in the reason', () => {
  for (const type of [
    SLSA_PROVENANCE_PREDICATE,
    'https://cosign.sigstore.dev/attestation/vuln/v1',
    'https://sigstore.dev/cosign/sign/v2',
    `${COSIGN_SIGN_PREDICATE} `,
    '',
  ]) {
    assert.throws(
      () => assertCosignSignatureStatement(bundleWith(type)),
      (error: { code?: string; message: string }) => {
        assert.equal(error.code, 'PW_SIGNATURE_INVALID');
        assert.match(error.message, /is an attestation \(predicate type ".*"\), not a cosign signature/);
        return true;
      },
      JSON.stringify(type),
    );
  }
  const long = bundleWith(`https://example.com/${'x'.repeat(5000)}`);
  assert.throws(
    () => assertCosignSignatureStatement(long),
    (error: Error) => error.message.length < 300,
  );
});

test('a statement without predicateType, or not JSON, is not a signature', () => {
  const bundle = bundleWith(COSIGN_SIGN_PREDICATE) as ReturnType<typeof parseBundle> & {
    content: { $case: 'dsseEnvelope'; dsseEnvelope: { payload: Buffer } };
  };
  bundle.content.dsseEnvelope.payload = Buffer.from(
    JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [] }),
  );
  assert.throws(() => assertCosignSignatureStatement(bundle), /predicate type none/);
  bundle.content.dsseEnvelope.payload = Buffer.from('not json');
  assert.throws(() => assertCosignSignatureStatement(bundle), /not a JSON in-toto statement/);
});
