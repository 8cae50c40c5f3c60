// Fulcio workflow claims (57264.1.*) read from minted GitHub- and GitLab-shaped leaves (both OID generations,
// malformed and contradicting extensions) and from two real GitHub Actions certificates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from '@sigstore/core';
import { readClaims } from '../../../src/signature/index.ts';
import { certificateFacts } from '../../../src/signature/certificate.ts';
import { firstPemBlock } from '../../../src/signature/pem.ts';
import type { ClaimExtension } from '../../helpers/sigstore-fixtures.ts';
import { createFulcioLikeCa, githubClaims, gitlabClaims, mintLeaf } from '../../helpers/sigstore-fixtures.ts';

const DATA = join(import.meta.dirname, '../../../../shared/data/sigstore');
const SHA = '1111111111111111111111111111111111111111';
const ca = await createFulcioLikeCa();
const claimsOf = async (claims: readonly ClaimExtension[], issuer?: string) =>
  certificateFacts((await mintLeaf(ca, { claims, ...(issuer ? { issuer } : {}) })).certificateDer).claims;

test('GitHub-shaped leaf with both generations: v2 values, v2 origins, no problems', async () => {
  const claims = await claimsOf(githubClaims({ repository: 'acme/app', sha: SHA, ref: 'refs/heads/main' }));
  assert.deepEqual(claims.problems, []);
  assert.equal(claims.values.sourceRepositoryURI, 'https://github.com/acme/app');
  assert.equal(claims.values.sourceRepositoryDigest, SHA);
  assert.equal(claims.values.sourceRepositoryRef, 'refs/heads/main');
  assert.equal(claims.values.runnerEnvironment, 'github-hosted');
  assert.equal(
    claims.values.buildSignerURI,
    'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
  );
  assert.equal(claims.values.runInvocationURI, 'https://github.com/acme/app/actions/runs/1/attempts/1');
  assert.equal(claims.values.issuer, 'https://token.actions.githubusercontent.com');
  assert.deepEqual(claims.origins.sourceRepositoryDigest, {
    oid: '1.3.6.1.4.1.57264.1.13',
    label: 'SourceRepositoryDigest',
    generation: 'v2',
  });
});

test('GitHub leaf with only the v1 extensions: repository becomes a URL, origins name the v1 OIDs', async () => {
  const claims = await claimsOf(
    githubClaims({ repository: 'acme/app', sha: SHA, ref: 'refs/tags/v1.0.0', v1Only: true }),
  );
  assert.deepEqual(claims.problems, []);
  assert.equal(claims.values.sourceRepositoryURI, 'https://github.com/acme/app');
  assert.equal(claims.values.sourceRepositoryDigest, SHA);
  assert.equal(claims.values.sourceRepositoryRef, 'refs/tags/v1.0.0');
  assert.equal(claims.values.runnerEnvironment, undefined);
  assert.deepEqual(claims.origins.sourceRepositoryDigest, {
    oid: '1.3.6.1.4.1.57264.1.3',
    label: 'GitHubWorkflowSHA',
    generation: 'v1',
  });
});

test('v1 GitHub extensions under another issuer are not read (they are GitHub-only)', async () => {
  const claims = await claimsOf(
    githubClaims({ repository: 'acme/app', sha: SHA, ref: 'refs/heads/main', v1Only: true }),
    'https://gitlab.com',
  );
  assert.equal(claims.values.sourceRepositoryDigest, undefined);
  assert.equal(claims.values.sourceRepositoryURI, undefined);
  assert.equal(claims.values.issuer, 'https://gitlab.com');
});

test('GitLab-shaped leaf: v2 only, gitlab-hosted runner, subgroup path kept', async () => {
  const claims = await claimsOf(
    gitlabClaims({ repository: 'acme/platform/fleet', sha: SHA, ref: 'refs/heads/main' }),
    'https://gitlab.com',
  );
  assert.deepEqual(claims.problems, []);
  assert.equal(claims.values.sourceRepositoryURI, 'https://gitlab.com/acme/platform/fleet');
  assert.equal(claims.values.runnerEnvironment, 'gitlab-hosted');
  assert.equal(claims.values.buildSignerURI, 'https://gitlab.com/acme/platform/fleet//.gitlab-ci.yml@refs/heads/main');
});

test('malformed v2 values are reported and dropped, never thrown', async () => {
  const cases: [ClaimExtension, RegExp][] = [
    [{ n: 13, raw: Buffer.from(SHA) }, /1\.13 \(SourceRepositoryDigest\) is not a DER UTF8String/],
    [{ n: 13, raw: Buffer.from([0x0c, 0x05, 0x61]) }, /DER length that does not match/],
    [{ n: 13, raw: Buffer.from([0x0c, 0x81, 0x05, 0x61, 0x61, 0x61, 0x61, 0x61]) }, /non-minimal DER length/],
    [{ n: 13, raw: Buffer.from([0x0c, 0x84, 0xff, 0xff, 0xff, 0xff]) }, /malformed DER length/],
    [{ n: 13, raw: Buffer.from([0x0c, 0x02, 0xc3, 0x28]) }, /not valid UTF-8/],
    [
      { n: 12, value: 'https://github.com/acme/app\nInjected: yes' },
      /1\.12 \(SourceRepositoryURI\) contains control characters/,
    ],
    [{ n: 13, value: 'a'.repeat(5000) }, /longer than 4096 bytes/],
    [{ n: 13, raw: Buffer.alloc(0) }, /is not a DER UTF8String/],
  ];
  for (const [extension, problem] of cases) {
    const claims = await claimsOf([extension]);
    assert.equal(
      claims.values[extension.n === 12 ? 'sourceRepositoryURI' : 'sourceRepositoryDigest'],
      undefined,
      String(problem),
    );
    assert.ok(
      claims.problems.some((text) => problem.test(text)),
      `${String(problem)} in ${JSON.stringify(claims.problems)}`,
    );
  }
});

test('v1 and v2 twins that disagree: the claim is dropped and both values are named', async () => {
  const claims = await claimsOf(
    [
      { n: 3, value: SHA },
      { n: 13, value: '2'.repeat(40) },
      { n: 12, value: 'https://github.com/acme/app' },
    ],
    undefined,
  );
  assert.equal(claims.values.sourceRepositoryDigest, undefined);
  assert.match(
    claims.problems.join('\n'),
    /1\.3 \(GitHubWorkflowSHA: "1{40}"\) and 1\.3\.6\.1\.4\.1\.57264\.1\.13 \(SourceRepositoryDigest: "2{40}"\) disagree/,
  );
  assert.equal(claims.values.sourceRepositoryURI, 'https://github.com/acme/app');
});

test('unknown 57264.1.N extensions are reported; other OIDs are ignored', async () => {
  const claims = await claimsOf([
    { n: 99, value: 'future' },
    ...githubClaims({ repository: 'acme/app', sha: SHA, ref: 'refs/heads/main', v1: false }),
  ]);
  assert.deepEqual(claims.problems, [
    'extension 1.3.6.1.4.1.57264.1.99 is not one this version of pinwarden knows; ignored',
  ]);
  assert.equal(claims.values.sourceRepositoryDigest, SHA);
});

test('a certificate without workflow claims (an email identity) has only its issuer', async () => {
  const leaf = await mintLeaf(ca, { subject: 'mailto:dev@acme.test', issuer: 'https://accounts.google.com' });
  const claims = certificateFacts(leaf.certificateDer).claims;
  assert.deepEqual(claims.values, { issuer: 'https://accounts.google.com' });
  assert.deepEqual(claims.problems, []);
});

test('real GitHub Actions legacy signature (salrashid123/go-bazel-github-workflow): every workflow claim', () => {
  const manifest = JSON.parse(
    readFileSync(join(DATA, 'legacy-real/salrashid123-server_image/sig-manifest.json'), 'utf8'),
  );
  const der = firstPemBlock(manifest.layers[0].annotations['dev.sigstore.cosign/certificate'])!.der;
  const claims = certificateFacts(der).claims;
  assert.deepEqual(claims.problems, []);
  assert.deepEqual(claims.values, {
    issuer: 'https://token.actions.githubusercontent.com',
    buildTrigger: 'push',
    sourceRepositoryDigest: '7624bd5f279fb5d4700ea72c1b2373ee33960700',
    sourceRepositoryURI: 'https://github.com/salrashid123/go-bazel-github-workflow',
    sourceRepositoryRef: 'refs/tags/v0.0.30',
    buildSignerURI:
      'https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.30',
    buildSignerDigest: '7624bd5f279fb5d4700ea72c1b2373ee33960700',
    runnerEnvironment: 'github-hosted',
    sourceRepositoryIdentifier: '1150755799',
    sourceRepositoryOwnerURI: 'https://github.com/salrashid123',
    sourceRepositoryOwnerIdentifier: '11149054',
    buildConfigURI:
      'https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.30',
    buildConfigDigest: '7624bd5f279fb5d4700ea72c1b2373ee33960700',
    runInvocationURI: 'https://github.com/salrashid123/go-bazel-github-workflow/actions/runs/22498294485/attempts/1',
    sourceRepositoryVisibilityAtSigning: 'public',
  });
});

test('real conformance bundle (sigstore-conformance beacon, long-form DER lengths): claims read', () => {
  const bundle = JSON.parse(
    readFileSync(join(DATA, 'conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json'), 'utf8'),
  );
  const material = bundle.verificationMaterial;
  const raw = (material.certificate ?? material.x509CertificateChain.certificates[0]).rawBytes;
  const cert = X509Certificate.parse(Buffer.from(raw, 'base64'));
  const claims = readClaims(cert.extensions);
  assert.deepEqual(claims.problems, []);
  assert.equal(
    claims.values.buildSignerURI,
    'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
  );
  assert.equal(claims.values.sourceRepositoryDigest, 'c7b3dfb335f051e1c86bda4c716fac97df62ad81');
  assert.equal(claims.values.buildTrigger, 'workflow_dispatch');
});

test('claim patterns are part of the verification cache key and are checked as Go regexps up front', async () => {
  const { signatureCacheKey, identityPolicy } = await import('../../../src/signature/index.ts');
  const digest = `sha256:${'d'.repeat(64)}` as const;
  const base = { issuer: 'i', subject: 's' };
  const key = (identity: object) =>
    signatureCacheKey(digest, { provider: 'cosign', matchOIDCIdentity: [identity as typeof base] }, 'root');
  assert.equal(key(base), key({ ...base, sourceRepositoryRef: '' }));
  assert.notEqual(key(base), key({ ...base, sourceRepositoryRef: '^refs/heads/main$' }));
  assert.notEqual(key({ ...base, runnerEnvironment: 'a' }), key({ ...base, buildSignerURI: 'a' }));
  assert.throws(
    () => identityPolicy([{ ...base, buildSignerURI: '(?!x)' }]),
    /malformed buildSignerURI in identity: \(\?!x\)/,
  );
  assert.deepEqual(
    identityPolicy([{ ...base, runnerEnvironment: '^github-hosted$', sourceRepositoryRef: '' }]).identities,
    [{ ...base, runnerEnvironment: '^github-hosted$' }],
  );
});
