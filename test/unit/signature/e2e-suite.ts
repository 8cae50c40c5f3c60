// The end-to-end signature scenarios, run against any Repository: MemoryRepository in the unit tests and the
// real docker-registry through the HTTP client in test/integration/signature/. Artifacts are signed at test
// time by the self-made Fulcio/Rekor of test/helpers/sigstore-fixtures.ts and attached exactly as cosign does.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { Repository } from '../../../src/oci/types.ts';
import type { OciVerifyBlock, VerifySignatureOptions } from '../../../src/signature/index.ts';
import { fixedTrustRootSource, parseTrustedRoot, verifyArtifactSignature } from '../../../src/signature/index.ts';
import type { SigstoreFixture } from '../../helpers/sigstore-fixtures.ts';
import {
  TEST_ISSUER,
  TEST_SUBJECT,
  createSigstoreFixture,
  mintLeaf,
  pemOfPublicKey,
} from '../../helpers/sigstore-fixtures.ts';
import {
  attachBundle,
  attachLegacy,
  dsseBundle,
  legacySignature,
  pushArtifact,
} from '../../helpers/sigstore-fixtures-sign.ts';
import type { SignatureReason } from '../../../src/core/errors.ts';

export const ANCHORED_IDENTITY = {
  issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
  subject: '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v.*$',
};
export const KEYLESS: OciVerifyBlock = { provider: 'cosign', matchOIDCIdentity: [ANCHORED_IDENTITY] };
export const KEYED: OciVerifyBlock = { provider: 'cosign', secretRef: { name: 'cosign-keys' } };

export function optionsFor(
  fixture: SigstoreFixture,
  secrets: Record<string, Record<string, string>> = {},
): VerifySignatureOptions {
  return {
    call: { signal: AbortSignal.timeout(20_000) },
    trustRoots: fixedTrustRootSource(parseTrustedRoot(fixture.trustedRootBytes, 'test fixture root')),
    secrets: async (name) => {
      const data = secrets[name];
      if (!data) throw new Error(`no secret ${name}`);
      return data;
    },
  };
}

/** The verification fails with `code` and, when given, the reason sub-code (or, for texts that are the point, a message pattern). */
export async function expectCode(
  promise: Promise<unknown>,
  code: string,
  expected?: SignatureReason | RegExp,
): Promise<string> {
  const error = await promise.then(
    () => assert.fail(`expected ${code}, but verification succeeded`),
    (failure: unknown) =>
      failure as { code?: string; subCode?: string; message: string; details?: { reasons?: unknown[] } },
  );
  assert.equal(error.code, code, error.message);
  if (typeof expected === 'string') assert.equal(error.subCode, expected, error.message);
  else if (expected) assert.match(error.message, expected);
  return error.message;
}

export function signatureE2e(label: string, repository: () => Repository): void {
  let fixture: SigstoreFixture;
  before(async () => {
    fixture = await createSigstoreFixture();
  });

  test(`${label}: keyless legacy .sig signature verifies with its identity, log index and time`, async () => {
    const repo = repository();
    const artifact = await pushArtifact(repo, 'legacy-keyless');
    const leaf = await mintLeaf(fixture.ca);
    await attachLegacy(repo, artifact, [
      legacySignature(leaf, repo.name, artifact.digest, { rekor: fixture.rekor, logIndex: 77 }),
    ]);
    const verified = await verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture));
    assert.equal(verified.kind, 'legacy');
    assert.equal(verified.mode, 'keyless');
    assert.equal(verified.issuer, TEST_ISSUER);
    assert.deepEqual(verified.subjects, [TEST_SUBJECT]);
    assert.equal(verified.logIndex, '77');
    assert.equal(verified.integratedTime?.getTime(), Math.floor((leaf.notBefore.getTime() + 60_000) / 1000) * 1000);
  });

  test(`${label}: keyless v0.3 bundle referrer verifies`, async () => {
    const repo = repository();
    const artifact = await pushArtifact(repo, 'bundle-keyless');
    const leaf = await mintLeaf(fixture.ca);
    const referrer = await attachBundle(
      repo,
      artifact,
      dsseBundle(leaf, artifact.digest, { rekor: fixture.rekor, logIndex: 78 }),
    );
    const verified = await verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture));
    assert.equal(verified.kind, 'bundle');
    assert.equal(verified.source, referrer.digest);
    assert.equal(verified.logIndex, '78');
    assert.deepEqual(verified.subjects, [TEST_SUBJECT]);
  });

  test(`${label}: key-based legacy and bundle signatures verify with a Secret's *.pub keys`, async () => {
    const repo = repository();
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('ed25519');
    const secrets = {
      'cosign-keys': {
        'other.pub': pemOfPublicKey(other.publicKey),
        'cosign.pub': pemOfPublicKey(keys.publicKey),
        README: 'not a key',
      },
    };
    const legacyArtifact = await pushArtifact(repo, 'legacy-key');
    await attachLegacy(repo, legacyArtifact, [legacySignature(keys, repo.name, legacyArtifact.digest)]);
    const legacy = await verifyArtifactSignature(repo, legacyArtifact, KEYED, optionsFor(fixture, secrets));
    assert.deepEqual(
      [legacy.kind, legacy.mode, legacy.keyName, legacy.logIndex],
      ['legacy', 'key', 'cosign.pub', undefined],
    );
    const bundleArtifact = await pushArtifact(repo, 'bundle-key');
    await attachBundle(
      repo,
      bundleArtifact,
      dsseBundle(keys, bundleArtifact.digest, { rekor: fixture.rekor, logIndex: 90 }),
    );
    const bundle = await verifyArtifactSignature(repo, bundleArtifact, KEYED, {
      ...optionsFor(fixture, secrets),
      requireTlog: true,
    });
    assert.deepEqual(
      [bundle.kind, bundle.mode, bundle.keyName, bundle.logIndex],
      ['bundle', 'key', 'cosign.pub', '90'],
    );
  });

  test(`${label}: key-based signature without a tlog entry passes by default and fails when the tlog is required`, async () => {
    const repo = repository();
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const secrets = { 'cosign-keys': { 'cosign.pub': pemOfPublicKey(keys.publicKey) } };
    const artifact = await pushArtifact(repo, 'key-no-tlog');
    await attachBundle(repo, artifact, dsseBundle(keys, artifact.digest));
    await verifyArtifactSignature(repo, artifact, KEYED, optionsFor(fixture, secrets));
    await expectCode(
      verifyArtifactSignature(repo, artifact, KEYED, { ...optionsFor(fixture, secrets), requireTlog: true }),
      'PW_SIGNATURE_INVALID',
      /expected 1 tlog entries|timestamps/,
    );
  });

  test(`${label}: an unsigned artifact fails with PW_SIGNATURE_NOT_FOUND`, async () => {
    const repo = repository();
    const artifact = await pushArtifact(repo, 'unsigned');
    await expectCode(
      verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
      'PW_SIGNATURE_NOT_FOUND',
      /no signatures found/,
    );
  });

  test(`${label}: a signature of another identity fails with PW_IDENTITY_MISMATCH naming the certificate`, async () => {
    const repo = repository();
    const artifact = await pushArtifact(repo, 'other-identity');
    const leaf = await mintLeaf(fixture.ca, {
      subject: 'https://github.com/evil/app/.github/workflows/release.yml@refs/tags/v1',
    });
    await attachLegacy(repo, artifact, [legacySignature(leaf, repo.name, artifact.digest, { rekor: fixture.rekor })]);
    await expectCode(
      verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
      'PW_IDENTITY_MISMATCH',
      /github\.com\/evil\/app/,
    );
  });

  test(`${label}: signatures made for another artifact fail with PW_DIGEST_MISMATCH (legacy copied, bundle re-attached)`, async () => {
    const repo = repository();
    const signed = await pushArtifact(repo, 'signed');
    const target = await pushArtifact(repo, 'target');
    const leaf = await mintLeaf(fixture.ca);
    await attachLegacy(repo, target, [legacySignature(leaf, repo.name, signed.digest, { rekor: fixture.rekor })]);
    await attachBundle(repo, target, dsseBundle(leaf, signed.digest, { rekor: fixture.rekor }));
    await expectCode(
      verifyArtifactSignature(repo, target, KEYLESS, optionsFor(fixture)),
      'PW_DIGEST_MISMATCH',
      new RegExp(signed.digest),
    );
  });
}
