// `pinwarden verify` with commit binding and claim flags, in-process against the real docker-registry:
// Flux-shaped artifacts whose source/revision annotations match or not the GitHub-shaped certificate that signed
// them. Asserts the exit code and the printed outcome of each case.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliInProcess } from '../../helpers/cli-in-process.ts';
import {
  COMMIT,
  OTHER_COMMIT,
  fluxAnnotations,
  pushAnnotatedArtifact,
  signKeyless,
} from '../../helpers/binding-fixtures.ts';
import { githubClaims } from '../../helpers/sigstore-fixtures.ts';
import { attachBundle, dsseBundle } from '../../helpers/sigstore-fixtures-sign.ts';
import { PLATFORM_KEY, PLATFORM_KEY_PEM } from '../../helpers/trust.ts';
import { sigstoreIn, startSigningWorkspace } from '../../helpers/signing-workspace.ts';
import type { SigningWorkspace } from '../../helpers/signing-workspace.ts';

let workspace: SigningWorkspace;
let dir: string;
let boundRef: string;
let otherRef: string;
let keyedRef: string;
let oddRef: string;
const ISSUER = '^https://token\\.actions\\.githubusercontent\\.com$';
const SUBJECT = '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/heads/main$';

before(async () => {
  workspace = await startSigningWorkspace('pinwarden-binding-');
  const { repo, refOf: ref } = workspace;
  dir = workspace.dir;
  const fixture = await sigstoreIn(dir);
  writeFileSync(join(dir, 'cosign.pub'), PLATFORM_KEY_PEM);
  const claims = githubClaims({ repository: 'acme/app', sha: COMMIT, ref: 'refs/heads/main' });
  const bound = await pushAnnotatedArtifact(
    repo,
    fluxAnnotations(`main@sha1:${COMMIT}`, 'git@github.com:acme/app.git'),
  );
  await signKeyless(fixture, repo, bound, {
    claims,
    subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
  });
  const other = await pushAnnotatedArtifact(repo, fluxAnnotations(`main@sha1:${OTHER_COMMIT}`));
  await signKeyless(fixture, repo, other, {
    claims,
    subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
    format: 'bundle',
  });
  const keyed = await pushAnnotatedArtifact(repo, fluxAnnotations(`main@sha1:${COMMIT}`));
  await attachBundle(repo, keyed, dsseBundle(PLATFORM_KEY, keyed.digest));
  const odd = await pushAnnotatedArtifact(repo, fluxAnnotations(`main@sha1:${COMMIT}`));
  await signKeyless(fixture, repo, odd, {
    claims: [
      ...claims,
      { n: 99, value: 'future' },
      { n: 21, value: 'https://example.test/run/2' },
      { n: 23, raw: Buffer.from('not DER') },
    ],
    subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
  });
  [boundRef, otherRef, keyedRef, oddRef] = [ref(bound), ref(other), ref(keyed), ref(odd)];
});
after(() => workspace?.stop());

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliInProcess(['verify', ...args, '--insecure', '--timeout', '20'], { cwd: dir });
}
const keyless = (ref: string, ...more: string[]) =>
  cli(ref, '--issuer', ISSUER, '--subject', SUBJECT, '--trusted-root', 'trusted_root.json', ...more);

test('bound: exit 0, the workflow claims and the binding printed beside the identity', async () => {
  const run = await keyless(boundRef);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /source repo: +https:\/\/github\.com\/acme\/app\n/);
  assert.match(run.stdout, new RegExp(`source commit: +${COMMIT}\\n`));
  assert.match(run.stdout, /runner: +github-hosted\n/);
  assert.match(
    run.stdout,
    new RegExp(`commit binding: +bound to commit ${COMMIT} of https://github\\.com/acme/app \\(refs/heads/main\\)\\n`),
  );
  const json = JSON.parse((await keyless(boundRef, '--output', 'json', '--commit-binding', 'enforce')).stdout);
  assert.deepEqual(json.commitBinding, {
    mode: 'enforce',
    outcome: 'bound',
    commit: COMMIT,
    repository: 'https://github.com/acme/app',
    ref: 'refs/heads/main',
  });
  assert.equal(json.claims.values.sourceRepositoryDigest, COMMIT);
});

test('other commit: warn (default) exits 0 with the warning; enforce exits 1 naming both commits', async () => {
  const warned = await keyless(otherRef);
  assert.equal(warned.code, 0, warned.stderr);
  assert.match(
    warned.stdout,
    new RegExp(
      `commit binding: +WARNING commit binding: revision annotation "main@sha1:${OTHER_COMMIT}" but the signing workflow built ${COMMIT} \\(certificate SourceRepositoryDigest\\)`,
    ),
  );
  const denied = await keyless(otherRef, '--commit-binding', 'enforce');
  assert.equal(denied.code, 1);
  assert.match(
    denied.stderr,
    new RegExp(
      `^Verification FAILED: oci://.*@sha256:[0-9a-f]{64} \\[PW_COMMIT_BINDING\\]\\n  - bundle sha256:[0-9a-f]{64}: commit binding: revision annotation "main@sha1:${OTHER_COMMIT}" but the signing workflow built ${COMMIT} \\(certificate SourceRepositoryDigest\\) \\[PW_COMMIT_BINDING\\]\\n$`,
    ),
  );
  const off = await keyless(otherRef, '--commit-binding', 'off');
  assert.equal(off.code, 0);
  assert.doesNotMatch(off.stdout, /commit binding:/);
});

test('claim flags: a ref or runner outside the pattern is an identity mismatch naming the claim', async () => {
  assert.equal(
    (
      await keyless(
        boundRef,
        '--source-repository-ref',
        '^refs/heads/main$',
        '--runner-environment',
        '^github-hosted$',
        '--build-signer-uri',
        '/release\\.yml@',
      )
    ).code,
    0,
  );
  const ref = await keyless(boundRef, '--source-repository-ref', '^refs/tags/v');
  assert.equal(ref.code, 1);
  assert.match(
    ref.stderr,
    /\[PW_IDENTITY_MISMATCH\]\n {2}- legacy sha256-[0-9a-f]{64}\.sig layer 0: none of the expected identities matched what was in the certificate, got subjects \[.*\] with issuer https:\/\/token\.actions\.githubusercontent\.com \(sourceRepositoryRef refs\/heads\/main does not match \^refs\/tags\/v\)/,
  );
  const runner = await keyless(boundRef, '--runner-environment', '^self-hosted$');
  assert.match(runner.stderr, /runnerEnvironment github-hosted does not match \^self-hosted\$/);
});

test('key-based: warn is silent, enforce refuses it and says why', async () => {
  const warned = await cli(keyedRef, '--key', 'cosign.pub');
  assert.equal(warned.code, 0, warned.stderr);
  assert.doesNotMatch(warned.stdout, /WARNING/);
  const denied = await cli(keyedRef, '--key', 'cosign.pub', '--commit-binding', 'enforce');
  assert.equal(denied.code, 1);
  assert.match(
    denied.stderr,
    /the signature is key-based: a public key carries no workflow claims, so nothing binds the artifact to a commit \(commitBinding is enforce\) \[PW_COMMIT_BINDING\]/,
  );
});

test('usage errors: exit 2 for a bad mode, a bad claim regexp, and claim flags with --key', async () => {
  const mode = await keyless(boundRef, '--commit-binding', 'strict');
  assert.equal(mode.code, 2);
  assert.match(
    mode.stderr,
    /option '--commit-binding <mode>' argument 'strict' is invalid\. Allowed choices are off, warn, enforce\. \[PW_USAGE\]/,
  );
  const regex = await keyless(boundRef, '--source-repository-ref', '(?<=x)');
  assert.equal(regex.code, 2);
  assert.match(regex.stderr, /malformed sourceRepositoryRef in identity/);
  const keyed = await cli(keyedRef, '--key', 'cosign.pub', '--runner-environment', 'x');
  assert.equal(keyed.code, 2);
  assert.match(keyed.stderr, /apply to keyless verification only/);
});

test('unknown, malformed and duplicated claim extensions are printed as claim problems, and do not stop a bound verification', async () => {
  const run = await keyless(oddRef, '--commit-binding', 'enforce');
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stdout,
    /claim problem: +extension 1\.3\.6\.1\.4\.1\.57264\.1\.99 is not one this version of pinwarden knows; ignored\n/,
  );
  assert.match(
    run.stdout,
    /claim problem: +extension 1\.3\.6\.1\.4\.1\.57264\.1\.23 \(DeploymentEnvironment\) is not a DER UTF8String; ignored\n/,
  );
  assert.match(
    run.stdout,
    /claim problem: +extension 1\.3\.6\.1\.4\.1\.57264\.1\.21 appears more than once; ignored\n/,
  );
  assert.doesNotMatch(run.stdout, /run: /);
  assert.match(run.stdout, /commit binding: +bound to commit 2{40}/);
});
