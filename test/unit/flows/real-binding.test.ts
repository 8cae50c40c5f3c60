// Commit binding on a real GitHub Actions signature (salrashid123/server_image, public-good Fulcio + Rekor,
// read in place from ../shared/data): the certificate says repository salrashid123/go-bazel-github-workflow,
// commit 7624bd5f…, ref refs/tags/v0.0.30. The image's own manifest is not in the data set, so the annotations
// are given here: the same signature is bound to the right ones and refused for another commit, a fork, a ref.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindingOf, signatureJudge } from '../../../src/flows/index.ts';
import type { SignatureChecks } from '../../../src/flows/index.ts';
import { MemoryRepository } from '../../../src/oci/memory.ts';
import { MEDIA_TYPES } from '../../../src/oci/types.ts';
import {
  fixedTrustRootSource,
  legacySignatureTag,
  publicGoodTrustRoot,
  verifyArtifactSignature,
} from '../../../src/signature/index.ts';

const REAL = join(import.meta.dirname, '../../../../shared/data/sigstore/legacy-real/salrashid123-server_image');
const DIGEST = 'sha256:c05263d2ff654c3a94243662440913f045075d59c436e2c69e9145ec2b87a321';
const COMMIT = '7624bd5f279fb5d4700ea72c1b2373ee33960700';
const SOURCE = 'https://github.com/salrashid123/go-bazel-github-workflow';
const call = { signal: AbortSignal.timeout(10_000) };
const repo = new MemoryRepository('index.docker.io/salrashid123/server_image');
await repo.pushBlob(readFileSync(join(REAL, 'payload.json')), MEDIA_TYPES.cosignSimpleSigning, call);
await repo.pushManifest(
  readFileSync(join(REAL, 'sig-manifest.json')),
  MEDIA_TYPES.ociManifest,
  legacySignatureTag(DIGEST),
  call,
);
const subject = { mediaType: MEDIA_TYPES.ociIndex, digest: DIGEST, size: 0 } as const;
const verify = {
  provider: 'cosign',
  matchOIDCIdentity: [
    {
      issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
      subject: '^https://github\\.com/salrashid123/go-bazel-github-workflow/',
    },
  ],
};

async function verifyWith(revision: string, source = SOURCE, mode: SignatureChecks['bindingMode'] = 'enforce') {
  const checks: SignatureChecks = {
    bindingMode: mode,
    annotations: { 'org.opencontainers.image.revision': revision, 'org.opencontainers.image.source': source },
  };
  const signature = await verifyArtifactSignature(repo, subject, verify, {
    call,
    trustRoots: fixedTrustRootSource(publicGoodTrustRoot()),
    judge: signatureJudge(checks),
  });
  return { signature, decision: bindingOf(checks, signature) };
}

test('real signature, right annotations (tag form, ssh source): bound to the commit and tag the workflow ran on', async () => {
  const { decision } = await verifyWith(
    `v0.0.30@sha1:${COMMIT}`,
    'git@github.com:salrashid123/go-bazel-github-workflow.git',
  );
  assert.deepEqual(decision.check, { bound: true, commit: COMMIT, repository: SOURCE, ref: 'refs/tags/v0.0.30' });
});

test('real signature, another commit / a fork / another ref: PW_COMMIT_BINDING naming both sides', async () => {
  const cases: [string, string, RegExp][] = [
    [
      `v0.0.30@sha1:${'0'.repeat(40)}`,
      SOURCE,
      new RegExp(
        `revision annotation "v0\\.0\\.30@sha1:0{40}" but the signing workflow built ${COMMIT} \\(certificate SourceRepositoryDigest\\)`,
      ),
    ],
    [
      `v0.0.30@sha1:${COMMIT}`,
      'https://github.com/someone-else/go-bazel-github-workflow',
      /source annotation "https:\/\/github\.com\/someone-else\/go-bazel-github-workflow" but the signing workflow ran in https:\/\/github\.com\/salrashid123\/go-bazel-github-workflow/,
    ],
    [
      `main@sha1:${COMMIT}`,
      SOURCE,
      /revision annotation ref "main" but the signing workflow ran on refs\/tags\/v0\.0\.30 \(certificate SourceRepositoryRef\)/,
    ],
  ];
  for (const [revision, source, message] of cases) {
    await assert.rejects(verifyWith(revision, source), (error: { code?: string; message: string }) => {
      assert.equal(error.code, 'PW_COMMIT_BINDING', error.message);
      assert.match(error.message, message);
      return true;
    });
  }
});

test('real signature under warn: verified, and the decision is a warning with the brief form', async () => {
  const { signature, decision } = await verifyWith(`v0.0.30@sha1:${'0'.repeat(40)}`, SOURCE, 'warn');
  assert.equal(signature.logIndex, '1004096555');
  assert.equal(decision.action, 'warn');
  assert.equal(
    decision.action === 'warn' ? decision.brief : '',
    'revision "v0.0.30@sha1:000000000000…" but signer built 7624bd5f279f…',
  );
});
