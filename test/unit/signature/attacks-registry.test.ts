// Attack matrix, part 2: what the registry serves (garbage at the .sig tag, oversized manifests and blobs, too
// many signatures, non-cosign referrers) and configuration mistakes. Each case fails with a clear code/reason.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { MemoryRepository } from '../../../src/oci/memory.ts';
import { MEDIA_TYPES } from '../../../src/oci/types.ts';
import type { Call, Descriptor } from '../../../src/oci/types.ts';
import { legacySignatureTag, verifyArtifactSignature } from '../../../src/signature/index.ts';
import type { KeylessSigner, SigstoreFixture } from '../../helpers/sigstore-fixtures.ts';
import { createSigstoreFixture, mintLeaf } from '../../helpers/sigstore-fixtures.ts';
import {
  attachBundle,
  attachLegacy,
  dsseBundle,
  legacySignature,
  pushArtifact,
} from '../../helpers/sigstore-fixtures-sign.ts';
import { KEYED, KEYLESS, expectCode, optionsFor } from './e2e-suite.ts';

let fixture: SigstoreFixture;
let leaf: KeylessSigner;
let stranger: KeylessSigner;
before(async () => {
  fixture = await createSigstoreFixture();
  leaf = await mintLeaf(fixture.ca);
  stranger = await mintLeaf(fixture.ca, {
    subject: 'https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main',
  });
});

const call = (): Call => ({ signal: AbortSignal.timeout(5000) });

async function fresh(): Promise<{ repo: MemoryRepository; artifact: Descriptor }> {
  const repo = new MemoryRepository('registry.test/acme/app');
  return { repo, artifact: await pushArtifact(repo) };
}

test('attack: .sig tag pointing at garbage → PW_SIGNATURE_INVALID (not an image manifest / not JSON)', async () => {
  const { repo, artifact } = await fresh();
  await repo.pushJson(
    { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] },
    legacySignatureTag(artifact.digest),
    MEDIA_TYPES.ociIndex,
  );
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'MANIFEST_ERROR',
  );
  await repo.pushManifest(
    Buffer.from('\u0000garbage'),
    MEDIA_TYPES.ociManifest,
    legacySignatureTag(artifact.digest),
    call(),
  );
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'MANIFEST_ERROR',
  );
});

test('attack: .sig layer that is not a simple-signing payload → PW_SIGNATURE_INVALID', async () => {
  const { repo, artifact } = await fresh();
  const genuine = legacySignature(leaf, repo.name, artifact.digest, { rekor: fixture.rekor });
  const blob = await repo.pushBlob(genuine.payload, 'application/octet-stream', call());
  const config = await repo.pushBlob(Buffer.from('{}'), 'application/vnd.oci.image.config.v1+json', call());
  await repo.pushJson(
    {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config,
      layers: [{ ...blob, annotations: genuine.annotations }],
    },
    legacySignatureTag(artifact.digest),
  );
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'PAYLOAD_ERROR',
  );
});

test('attack: oversized signature manifest (> 1 MiB) → PW_TOO_LARGE before it is parsed', async () => {
  const { repo, artifact } = await fresh();
  const genuine = legacySignature(leaf, repo.name, artifact.digest, { rekor: fixture.rekor });
  await attachLegacy(repo, artifact, [
    { ...genuine, annotations: { ...genuine.annotations, padding: 'x'.repeat(1024 * 1024) } },
  ]);
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_TOO_LARGE',
    /legacy signature manifest .* over the cap of 1048576/,
  );
});

test('attack: oversized payload blob and bundle blob → PW_TOO_LARGE', async () => {
  const { repo, artifact } = await fresh();
  await attachLegacy(repo, artifact, [legacySignature(leaf, repo.name, artifact.digest, { rekor: fixture.rekor })]);
  await attachBundle(repo, artifact, dsseBundle(leaf, artifact.digest, { rekor: fixture.rekor }));
  const options = { ...optionsFor(fixture), limits: { maxPayloadBytes: 100, maxBundleBytes: 100 } };
  const message = await expectCode(verifyArtifactSignature(repo, artifact, KEYLESS, options), 'PW_TOO_LARGE');
  assert.match(message, /signature payload .* over the cap of 100/);
  assert.match(message, /bundle .* over the cap of 100/);
});

test('attack: too many signatures → the cap stops fetching and the failure says so (PW_TOO_LARGE)', async () => {
  const { repo, artifact } = await fresh();
  const decoys = Array.from({ length: 20 }, () =>
    legacySignature(stranger, repo.name, artifact.digest, { rekor: fixture.rekor }),
  );
  await attachLegacy(repo, artifact, [
    ...decoys,
    legacySignature(leaf, repo.name, artifact.digest, { rekor: fixture.rekor }),
  ]);
  const error = await verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)).catch((e: unknown) => e);
  assert.ok(error instanceof PinwardenError);
  assert.equal(error.code, 'PW_TOO_LARGE');
  assert.match(error.message, /5 more signature candidate\(s\) not tried/);
  assert.equal((error.details.reasons as unknown[]).length, 16, 'every tried candidate has its reason');
  const raised = await verifyArtifactSignature(repo, artifact, KEYLESS, {
    ...optionsFor(fixture),
    limits: { maxCandidates: 21 },
  });
  assert.equal(raised.kind, 'legacy', 'a higher cap reaches the genuine signature');
});

test('every candidate is tried until one verifies, and all reasons are listed when none does', async () => {
  const { repo, artifact } = await fresh();
  await attachBundle(repo, artifact, dsseBundle(stranger, artifact.digest, { rekor: fixture.rekor }));
  await attachLegacy(repo, artifact, [
    legacySignature(stranger, repo.name, `sha256:${'0'.repeat(64)}`, { rekor: fixture.rekor }),
  ]);
  const error = await verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)).catch((e: unknown) => e);
  assert.ok(error instanceof PinwardenError);
  assert.equal(error.code, 'PW_SIGNATURE_INVALID', 'mixed reasons');
  assert.deepEqual(
    (error.details.reasons as { code: string }[]).map((r) => r.code),
    ['PW_IDENTITY_MISMATCH', 'PW_DIGEST_MISMATCH'],
  );
  await attachLegacy(repo, artifact, [legacySignature(leaf, repo.name, artifact.digest, { rekor: fixture.rekor })]);
  assert.equal((await verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture))).kind, 'legacy');
});

test('referrers that are not cosign signatures are skipped or refused with a reason', async () => {
  const { repo, artifact } = await fresh();
  const sbom = await repo.pushBlob(Buffer.from('{}'), 'application/spdx+json', call());
  const empty = await repo.pushBlob(Buffer.from('{}'), MEDIA_TYPES.ociEmpty, call());
  await repo.pushJson({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: 'application/spdx+json',
    config: empty,
    layers: [sbom],
    subject: artifact,
  });
  await expectCode(verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)), 'PW_SIGNATURE_NOT_FOUND');
  const v01 = {
    ...dsseBundle(leaf, artifact.digest, { rekor: fixture.rekor }),
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
  };
  await attachBundle(repo, artifact, v01);
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_SIGNATURE_INVALID',
    'BUNDLE_ERROR',
  );
});

test('configuration: no identities → PW_IDENTITY_MISMATCH before any fetch, unless any identity is explicitly allowed', async () => {
  const { repo, artifact } = await fresh();
  await attachLegacy(repo, artifact, [legacySignature(stranger, repo.name, artifact.digest, { rekor: fixture.rekor })]);
  const none = { provider: 'cosign', matchOIDCIdentity: [] };
  await expectCode(
    verifyArtifactSignature(repo, artifact, none, optionsFor(fixture)),
    'PW_IDENTITY_MISMATCH',
    'IDENTITY_ERROR',
  );
  const any = await verifyArtifactSignature(repo, artifact, none, { ...optionsFor(fixture), allowAnyIdentity: true });
  assert.match(any.subjects[0]!, /someone\/else/);
  const emptyPatterns = { provider: 'cosign', matchOIDCIdentity: [{ issuer: '', subject: '' }] };
  assert.equal(
    (await verifyArtifactSignature(repo, artifact, emptyPatterns, optionsFor(fixture))).kind,
    'legacy',
    'empty pattern = no constraint',
  );
});

test('configuration: malformed Go regexp, notation provider, keyless signature under a key policy', async () => {
  const { repo, artifact } = await fresh();
  await attachLegacy(repo, artifact, [legacySignature(leaf, repo.name, artifact.digest, { rekor: fixture.rekor })]);
  const lookbehind = { provider: 'cosign', matchOIDCIdentity: [{ issuer: '(?<=x)y', subject: '' }] };
  await expectCode(
    verifyArtifactSignature(repo, artifact, lookbehind, optionsFor(fixture)),
    'PW_INPUT_INVALID',
    /malformed issuer in identity/,
  );
  await expectCode(
    verifyArtifactSignature(repo, artifact, { provider: 'notation' }, optionsFor(fixture)),
    'PW_VERIFY_UNSUPPORTED',
  );
  const { generateKeyPairSync } = await import('node:crypto');
  const pub = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYED, optionsFor(fixture, { 'cosign-keys': { 'k.pub': pub } })),
    'PW_SIGNATURE_INVALID',
    'SIGNATURE_ERROR',
  );
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYED, optionsFor(fixture, { 'cosign-keys': { 'k.pub': 'garbage' } })),
    'PW_INPUT_INVALID',
    /'k\.pub'/,
  );
});

test('registry trouble is not "unsigned": transient errors propagate unchanged', async () => {
  const { repo, artifact } = await fresh();
  const down = Object.assign(Object.create(repo) as MemoryRepository, {
    referrers: async () => {
      throw new PinwardenError('PW_REGISTRY_UNREACHABLE', 'connect ECONNREFUSED');
    },
  });
  await expectCode(verifyArtifactSignature(down, artifact, KEYLESS, optionsFor(fixture)), 'PW_REGISTRY_UNREACHABLE');
});
