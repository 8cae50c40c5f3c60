// Real public-good signatures, verified offline: the sigstore-js fixture bundles, cosign's own v0.3 OCI
// attestation bundle, and a real legacy cosign image signature (salrashid123/server_image, GitHub Actions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryRepository } from '../../../src/oci/memory.ts';
import { MEDIA_TYPES } from '../../../src/oci/types.ts';
import type { SignerPolicy } from '../../../src/signature/index.ts';
import {
  fixedTrustRootSource,
  identityPolicy,
  legacySignatureTag,
  parseTrustedRoot,
  publicGoodTrustRoot,
  verifyArtifactSignature,
  verifyBundleBytes,
  verifyLegacySignature,
} from '../../../src/signature/index.ts';

const DATA = join(import.meta.dirname, '../../../../shared/data/sigstore');
const keyless = (issuer: string, subject: string, trustRoot = publicGoodTrustRoot()): SignerPolicy => ({
  mode: 'keyless',
  trustRoot,
  identity: identityPolicy([{ issuer, subject }]),
});
const codeOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    const { code, subCode } = error as { code?: string; subCode?: string };
    return `${code}${subCode ? `/${subCode}` : ''}: ${(error as Error).message}`;
  }
  return 'verified';
};

const NPM_SHA512 = `sha512:${JSON.parse(readFileSync(join(DATA, 'sigstore-js-tests-bundles/statement.json'), 'utf8')).subject[0].digest.sha512}`;
const SIGSTORE_JS = '^https://github\\.com/login/oauth$';

for (const file of readdirSync(join(DATA, 'sigstore-js-tests-bundles'))
  .filter((f) => f.endsWith('.sigstore'))
  .sort()) {
  test(`sigstore-js ${file}: verifies for its subject, fails for another digest or identity`, () => {
    const bytes = readFileSync(join(DATA, 'sigstore-js-tests-bundles', file));
    const policy = keyless(SIGSTORE_JS, '^brian@dehamer\\.com$');
    const outcome = verifyBundleBytes(bytes, { digest: NPM_SHA512 }, policy);
    assert.deepEqual([outcome.issuer, outcome.subjects], ['https://github.com/login/oauth', ['brian@dehamer.com']]);
    assert.match(
      codeOf(() => verifyBundleBytes(bytes, { digest: `sha512:${'0'.repeat(128)}` }, policy)),
      /^PW_DIGEST_MISMATCH/,
    );
    assert.match(
      codeOf(() => verifyBundleBytes(bytes, { digest: NPM_SHA512 }, keyless(SIGSTORE_JS, '^alice@'))),
      /^PW_IDENTITY_MISMATCH/,
    );
  });
}

const COSIGN_ATTESTATION = readFileSync(join(DATA, 'cosign-testdata/oci-attestation.sigstore.json'));
const COSIGN_DIGEST = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';

test("cosign oci-attestation bundle: verifies for its image digest with the seed root and cosign's root snapshot", () => {
  const pgi = parseTrustedRoot(
    readFileSync(join(DATA, 'cosign-testdata/trusted_root_pgi.json')),
    'cosign trusted_root_pgi.json',
  );
  for (const root of [publicGoodTrustRoot(), pgi]) {
    const outcome = verifyBundleBytes(
      COSIGN_ATTESTATION,
      { digest: COSIGN_DIGEST },
      keyless(SIGSTORE_JS, '^cody@soyland\\.com$', root),
    );
    assert.deepEqual(outcome.subjects, ['cody@soyland.com']);
    assert.ok(outcome.integratedTime instanceof Date && outcome.logIndex);
  }
});

test('cosign oci-attestation bundle: a different image digest fails the subject check', () => {
  const other = `sha256:${'7'.repeat(64)}`;
  assert.match(
    codeOf(() => verifyBundleBytes(COSIGN_ATTESTATION, { digest: other }, keyless(SIGSTORE_JS, 'cody'))),
    /^PW_DIGEST_MISMATCH: signed statement is about \[sha256:7321/,
  );
});

test('cosign oci-attestation bundle: served as a referrer it is found, but an attestation is not a signature', async () => {
  const repo = new MemoryRepository('127.0.0.1:60943/repo');
  const subject = { mediaType: MEDIA_TYPES.ociManifest, digest: COSIGN_DIGEST, size: 0 } as const;
  const call = { signal: AbortSignal.timeout(5000) };
  const layer = await repo.pushBlob(COSIGN_ATTESTATION, MEDIA_TYPES.sigstoreBundleV03, call);
  const config = await repo.pushBlob(Buffer.from('{}'), MEDIA_TYPES.ociEmpty, call);
  await repo.pushJson({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: MEDIA_TYPES.sigstoreBundleV03,
    config,
    layers: [layer],
    subject,
  });
  const verifying = verifyArtifactSignature(
    repo,
    subject,
    { provider: 'cosign', matchOIDCIdentity: [{ issuer: SIGSTORE_JS, subject: '^cody@soyland\\.com$' }] },
    { call },
  );
  await assert.rejects(
    verifying,
    (error: { code?: string; message: string }) =>
      error.code === 'PW_SIGNATURE_INVALID' &&
      /is an attestation \(predicate type "https:\/\/cosign\.sigstore\.dev\/attestation\/v1"\), not a cosign signature/.test(
        error.message,
      ),
  );
});

const REAL = join(DATA, 'legacy-real/salrashid123-server_image');
const REAL_DIGEST = 'sha256:c05263d2ff654c3a94243662440913f045075d59c436e2c69e9145ec2b87a321';
const REAL_MANIFEST = readFileSync(join(REAL, 'sig-manifest.json'));
const REAL_PAYLOAD = readFileSync(join(REAL, 'payload.json'));
const REAL_ANNOTATIONS = JSON.parse(REAL_MANIFEST.toString()).layers[0].annotations as Record<string, string>;
const GITHUB_ISSUER = '^https://token\\.actions\\.githubusercontent\\.com$';
const REAL_SUBJECT =
  '^https://github\\.com/salrashid123/go-bazel-github-workflow/\\.github/workflows/release\\.yaml@refs/tags/v';

test('real legacy signature: verifies offline against the public-good root from seeds.json', () => {
  const outcome = verifyLegacySignature(
    { payload: REAL_PAYLOAD, annotations: REAL_ANNOTATIONS },
    REAL_DIGEST,
    keyless(GITHUB_ISSUER, REAL_SUBJECT),
  );
  assert.equal(outcome.issuer, 'https://token.actions.githubusercontent.com');
  assert.deepEqual(outcome.subjects, [
    'https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.30',
  ]);
  assert.equal(outcome.logIndex, '1004096555');
  assert.equal(outcome.integratedTime?.getTime(), 1772216446 * 1000);
});

test('real legacy signature: a changed payload byte, a wrong identity, a wrong digest all fail', () => {
  const changed = Buffer.from(REAL_PAYLOAD);
  changed[changed.indexOf('server_image') + 1]! ^= 0x20;
  const policy = keyless(GITHUB_ISSUER, REAL_SUBJECT);
  assert.match(
    codeOf(() => verifyLegacySignature({ payload: changed, annotations: REAL_ANNOTATIONS }, REAL_DIGEST, policy)),
    /^PW_SIGNATURE_INVALID\/TLOG_BODY_ERROR:/,
  );
  assert.match(
    codeOf(() =>
      verifyLegacySignature(
        { payload: REAL_PAYLOAD, annotations: REAL_ANNOTATIONS },
        REAL_DIGEST,
        keyless(GITHUB_ISSUER, '^https://github\\.com/acme/'),
      ),
    ),
    /^PW_IDENTITY_MISMATCH/,
  );
  assert.match(
    codeOf(() =>
      verifyLegacySignature(
        { payload: REAL_PAYLOAD, annotations: REAL_ANNOTATIONS },
        `sha256:${'c'.repeat(64)}`,
        policy,
      ),
    ),
    /^PW_DIGEST_MISMATCH/,
  );
  const pgi = parseTrustedRoot(readFileSync(join(DATA, 'cosign-testdata/trusted_root_pgi.json')), 'pgi');
  assert.equal(
    codeOf(() =>
      verifyLegacySignature(
        { payload: REAL_PAYLOAD, annotations: REAL_ANNOTATIONS },
        REAL_DIGEST,
        keyless(GITHUB_ISSUER, REAL_SUBJECT, pgi),
      ),
    ),
    'verified',
  );
});

test('real legacy signature: discovered at its sha256-<hex>.sig tag and verified through a Repository', async () => {
  const repo = new MemoryRepository('index.docker.io/salrashid123/server_image');
  const call = { signal: AbortSignal.timeout(5000) };
  await repo.pushBlob(REAL_PAYLOAD, MEDIA_TYPES.cosignSimpleSigning, call);
  await repo.pushManifest(REAL_MANIFEST, MEDIA_TYPES.ociManifest, legacySignatureTag(REAL_DIGEST), call);
  const subject = { mediaType: MEDIA_TYPES.ociIndex, digest: REAL_DIGEST, size: 0 } as const;
  const verify = { provider: 'cosign', matchOIDCIdentity: [{ issuer: GITHUB_ISSUER, subject: REAL_SUBJECT }] };
  const verified = await verifyArtifactSignature(repo, subject, verify, {
    call,
    trustRoots: fixedTrustRootSource(publicGoodTrustRoot()),
  });
  assert.deepEqual([verified.kind, verified.logIndex], ['legacy', '1004096555']);
});
