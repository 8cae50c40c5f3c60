// Attack matrix, part 1: identity, artifact binding, payload and transparency-log tampering. Each case must
// fail with a clear code and a reason that names what is wrong.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRepository } from '../../../src/oci/memory.ts';
import type { Descriptor } from '../../../src/oci/types.ts';
import { goRegexMatches as goMatchString } from '../../../src/core/go-regex.ts';
import { verifyArtifactSignature } from '../../../src/signature/index.ts';
import type { KeylessSigner, SigstoreFixture } from '../../helpers/sigstore-fixtures.ts';
import { createFulcioLikeCa, createSigstoreFixture, mintLeaf } from '../../helpers/sigstore-fixtures.ts';
import type { LegacyMaterial } from '../../helpers/sigstore-fixtures-sign.ts';
import {
  attachBundle,
  attachLegacy,
  dsseBundle,
  legacySignature,
  pushArtifact,
} from '../../helpers/sigstore-fixtures-sign.ts';
import { ANCHORED_IDENTITY, KEYLESS, expectCode, optionsFor } from './e2e-suite.ts';

let fixture: SigstoreFixture;
let leaf: KeylessSigner;
before(async () => {
  fixture = await createSigstoreFixture();
  leaf = await mintLeaf(fixture.ca);
});

async function signedRepo(
  material: (repo: MemoryRepository, artifact: Descriptor) => LegacyMaterial | Promise<LegacyMaterial>,
) {
  const repo = new MemoryRepository('registry.test/acme/app');
  const artifact = await pushArtifact(repo);
  await attachLegacy(repo, artifact, [await material(repo, artifact)]);
  return { repo, artifact };
}

const legacyBy = (signer: KeylessSigner, time?: number) => (repo: MemoryRepository, artifact: Descriptor) =>
  legacySignature(signer, repo.name, artifact.digest, {
    rekor: fixture.rekor,
    ...(time === undefined ? {} : { integratedTime: time }),
  });

test('attack: wrong issuer → PW_IDENTITY_MISMATCH', async () => {
  const { repo, artifact } = await signedRepo(legacyBy(await mintLeaf(fixture.ca, { issuer: 'https://gitlab.com' })));
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_IDENTITY_MISMATCH',
    /with issuer https:\/\/gitlab\.com/,
  );
});

test('attack: wrong subject → PW_IDENTITY_MISMATCH', async () => {
  const { repo, artifact } = await signedRepo(
    legacyBy(
      await mintLeaf(fixture.ca, { subject: 'https://github.com/acme/app/.github/workflows/pr.yml@refs/pull/1/merge' }),
    ),
  );
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_IDENTITY_MISMATCH',
    /pr\.yml/,
  );
});

test('attack: issuer host suffix — Go unanchored semantics accept it, an anchored policy rejects it', async () => {
  const evil = 'https://token.actions.githubusercontent.com.evil.example';
  assert.equal(
    goMatchString('https://token.actions.githubusercontent.com', evil),
    true,
    'unanchored MatchString matches a substring',
  );
  assert.equal(goMatchString(ANCHORED_IDENTITY.issuer, evil), false);
  const { repo, artifact } = await signedRepo(legacyBy(await mintLeaf(fixture.ca, { issuer: evil })));
  const unanchored = {
    provider: 'cosign',
    matchOIDCIdentity: [{ issuer: 'https://token.actions.githubusercontent.com', subject: ANCHORED_IDENTITY.subject }],
  };
  const accepted = await verifyArtifactSignature(repo, artifact, unanchored, optionsFor(fixture));
  assert.equal(accepted.issuer, evil, 'the weak policy really admits the look-alike issuer');
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_IDENTITY_MISMATCH',
    /evil\.example/,
  );
});

test('attack: bundle whose in-toto statement names another digest → PW_DIGEST_MISMATCH', async () => {
  const repo = new MemoryRepository('registry.test/acme/app');
  const artifact = await pushArtifact(repo);
  const other = `sha256:${'ab'.repeat(32)}`;
  await attachBundle(repo, artifact, dsseBundle(leaf, artifact.digest, { rekor: fixture.rekor }, [other]));
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_DIGEST_MISMATCH',
    /signed statement is about \[sha256:abab/,
  );
});

test('attack: tampered legacy payload (same artifact digest, other bytes) → PW_SIGNATURE_INVALID', async () => {
  const { repo, artifact } = await signedRepo((r, a) => {
    const genuine = legacyBy(leaf)(r, a);
    const payload = Buffer.from(genuine.payload.toString().replace('"optional":null', '"optional":{"x":"y"}'));
    return { ...genuine, payload };
  });
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'TLOG_BODY_ERROR',
  );
});

test('attack: tampered DSSE payload in a bundle → PW_SIGNATURE_INVALID', async () => {
  const repo = new MemoryRepository('registry.test/acme/app');
  const artifact = await pushArtifact(repo);
  const bundle = dsseBundle(leaf, artifact.digest, { rekor: fixture.rekor }) as { dsseEnvelope: { payload: string } };
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
  statement.predicate = { injected: true };
  bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  await attachBundle(repo, artifact, bundle);
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'TLOG_BODY_ERROR',
  );
});

function editRekorAnnotation(
  edit: (rekor: { SignedEntryTimestamp: string; Payload: { integratedTime: number } }) => void,
) {
  return (repo: MemoryRepository, artifact: Descriptor): LegacyMaterial => {
    const genuine = legacyBy(leaf)(repo, artifact);
    const rekor = JSON.parse(genuine.annotations['dev.sigstore.cosign/bundle']!);
    edit(rekor);
    return { ...genuine, annotations: { ...genuine.annotations, 'dev.sigstore.cosign/bundle': JSON.stringify(rekor) } };
  };
}

test('attack: tampered SET → PW_SIGNATURE_INVALID (inclusion promise)', async () => {
  const { repo, artifact } = await signedRepo(
    editRekorAnnotation((rekor) => {
      const set = Buffer.from(rekor.SignedEntryTimestamp, 'base64');
      set[set.length - 1]! ^= 0x01;
      rekor.SignedEntryTimestamp = set.toString('base64');
    }),
  );
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'TLOG_INCLUSION_PROMISE_ERROR',
  );
});

test('attack: integrated time edited without re-signing the SET → PW_SIGNATURE_INVALID', async () => {
  const { repo, artifact } = await signedRepo(
    editRekorAnnotation((rekor) => {
      rekor.Payload.integratedTime += 1;
    }),
  );
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'TLOG_INCLUSION_PROMISE_ERROR',
  );
});

test('attack: certificate expired at the (validly signed) integrated time → PW_SIGNATURE_INVALID', async () => {
  const late = Math.floor(leaf.notAfter.getTime() / 1000) + 3600;
  const { repo, artifact } = await signedRepo(legacyBy(leaf, late));
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'CERTIFICATE_ERROR',
  );
});

test('attack: leaf from an untrusted CA → PW_SIGNATURE_INVALID', async () => {
  const rogue = await mintLeaf(await createFulcioLikeCa('rogue'));
  const { repo, artifact } = await signedRepo(legacyBy(rogue));
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'CERTIFICATE_ERROR',
  );
});

test('attack: tlog body names another certificate than the signer (legacy and bundle) → PW_SIGNATURE_INVALID', async () => {
  const stranger = await mintLeaf(fixture.ca);
  const entry = { rekor: fixture.rekor, loggedVerifierPem: stranger.certificatePem };
  const { repo, artifact } = await signedRepo((r, a) => legacySignature(leaf, r.name, a.digest, entry));
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'TLOG_BODY_ERROR',
  );
  const bundleRepo = new MemoryRepository('registry.test/acme/app');
  const bundled = await pushArtifact(bundleRepo);
  await attachBundle(bundleRepo, bundled, dsseBundle(leaf, bundled.digest, entry));
  await expectCode(
    verifyArtifactSignature(bundleRepo, bundled, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'TLOG_BODY_ERROR',
  );
});

test('attack: leaf without the codeSigning EKU → PW_SIGNATURE_INVALID', async () => {
  const { repo, artifact } = await signedRepo(legacyBy(await mintLeaf(fixture.ca, { codeSigning: false })));
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'CERTIFICATE_ERROR',
  );
});

test('attack: legacy signature without the Rekor bundle annotation → refused offline', async () => {
  const { repo, artifact } = await signedRepo((r, a) => legacySignature(leaf, r.name, a.digest));
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'BUNDLE_ERROR',
  );
});
