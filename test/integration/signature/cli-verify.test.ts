// `pinwarden verify` in-process against the real docker-registry: exit 0 prints the identity, exit 1 lists
// every candidate's reason, exit 2 for usage errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCliInProcess } from '../../helpers/cli-in-process.ts';
import { TEST_SUBJECT, mintLeaf } from '../../helpers/sigstore-fixtures.ts';
import {
  attachBundle,
  attachLegacy,
  dsseBundle,
  legacySignature,
  pushArtifact,
} from '../../helpers/sigstore-fixtures-sign.ts';
import { keyPairIn, sigstoreIn, startSigningWorkspace } from '../../helpers/signing-workspace.ts';
import type { SigningWorkspace } from '../../helpers/signing-workspace.ts';

let workspace: SigningWorkspace;
let dir: string;
let keylessRef: string;
let keyedRef: string;
let unsignedRef: string;
const ISSUER = '^https://token\\.actions\\.githubusercontent\\.com$';
const SUBJECT = '^https://github\\.com/acme/app/';

before(async () => {
  workspace = await startSigningWorkspace('pinwarden-verify-');
  const { repo, refOf: ref } = workspace;
  dir = workspace.dir;
  const fixture = await sigstoreIn(dir);
  const keyless = await pushArtifact(repo, 'keyless');
  await attachLegacy(repo, keyless, [
    legacySignature(await mintLeaf(fixture.ca), repo.name, keyless.digest, { rekor: fixture.rekor, logIndex: 31 }),
  ]);
  const keys = keyPairIn(dir, 'cosign.pub');
  const keyed = await pushArtifact(repo, 'keyed');
  await attachBundle(repo, keyed, dsseBundle(keys, keyed.digest));
  const unsigned = await pushArtifact(repo, 'unsigned');
  [keylessRef, keyedRef, unsignedRef] = [ref(keyless), ref(keyed), ref(unsigned)];
});
after(() => workspace?.stop());

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliInProcess(['verify', ...args, '--insecure', '--timeout', '20'], { cwd: dir });
}

test('verify keyless: exit 0 and the verified identity, log index and time', async () => {
  const run = await cli(keylessRef, '--issuer', ISSUER, '--subject', SUBJECT, '--trusted-root', 'trusted_root.json');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^Verified OK: /);
  assert.match(run.stdout, /issuer: +https:\/\/token\.actions\.githubusercontent\.com/);
  assert.ok(run.stdout.includes(`subject:         ${TEST_SUBJECT}`));
  assert.match(run.stdout, /kind: +legacy \(keyless\)/);
  assert.match(run.stdout, /log index: +31/);
  assert.match(run.stdout, /integrated time: +\d{4}-\d\d-\d\dT/);
  const json = await cli(
    keylessRef,
    '--issuer',
    ISSUER,
    '--subject',
    SUBJECT,
    '--trusted-root',
    'trusted_root.json',
    '--output',
    'json',
  );
  assert.equal(JSON.parse(json.stdout).logIndex, '31');
});

test("verify keyless with cosign's flag names: regexp names as-is, exact names quoted and anchored", async () => {
  const regexp = await cli(
    keylessRef,
    '--certificate-oidc-issuer-regexp',
    ISSUER,
    '--certificate-identity-regexp',
    SUBJECT,
    '--trusted-root',
    'trusted_root.json',
  );
  assert.equal(regexp.code, 0, regexp.stderr);
  assert.ok(regexp.stdout.includes(`subject:         ${TEST_SUBJECT}`));
  const exact = await cli(
    keylessRef,
    '--certificate-oidc-issuer',
    'https://token.actions.githubusercontent.com',
    '--certificate-identity',
    TEST_SUBJECT,
    '--trusted-root',
    'trusted_root.json',
  );
  assert.equal(exact.code, 0, exact.stderr);
  // A prefix would match unanchored (as Flux matches); the exact flag anchors it, so it must not verify.
  const prefix = await cli(
    keylessRef,
    '--certificate-oidc-issuer',
    'https://token.actions.githubusercontent.com',
    '--certificate-identity',
    TEST_SUBJECT.slice(0, -3),
    '--trusted-root',
    'trusted_root.json',
  );
  assert.equal(prefix.code, 1);
  assert.match(prefix.stderr, /\[PW_IDENTITY_MISMATCH\]/);
});

test('verify --key: exit 0 naming the key', async () => {
  const run = await cli(keyedRef, '--key', 'cosign.pub');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /kind: +bundle \(key\)/);
  assert.match(run.stdout, /key: +cosign\.pub/);
});

test('verify failures: exit 1 with every reason (wrong identity, public-good root, unsigned)', async () => {
  const wrong = await cli(
    keylessRef,
    '--issuer',
    ISSUER,
    '--subject',
    '^https://github\\.com/other/',
    '--trusted-root',
    'trusted_root.json',
  );
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.stderr,
    /Verification FAILED: .* \[PW_IDENTITY_MISMATCH\]\n {2}- legacy sha256-[0-9a-f]+\.sig layer 0: none of the expected identities/,
  );
  const untrusted = await cli(keylessRef, '--issuer', ISSUER, '--subject', SUBJECT);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /CERTIFICATE_ERROR/);
  const unsigned = await cli(unsignedRef, '--issuer', ISSUER, '--subject', SUBJECT);
  assert.equal(unsigned.code, 1);
  assert.match(unsigned.stderr, /no signatures found .* \[PW_SIGNATURE_NOT_FOUND\]/);
});

test('verify usage errors: exit 2', async () => {
  assert.equal((await cli(keylessRef)).code, 2, 'neither identity nor key');
  assert.equal((await cli(keylessRef, '--issuer', ISSUER)).code, 2, '--issuer without --subject');
  assert.equal(
    (await cli(keylessRef, '--issuer', ISSUER, '--subject', SUBJECT, '--key', 'cosign.pub')).code,
    2,
    'both modes',
  );
  const tagRef = await cli(
    `oci://${workspace.registry.host}/acme/app:keyless`,
    '--issuer',
    ISSUER,
    '--subject',
    SUBJECT,
  );
  assert.equal(tagRef.code, 2);
  assert.match(tagRef.stderr, /needs a digest reference/);
  const badRegex = await cli(keylessRef, '--issuer', '(?<=x)', '--subject', SUBJECT);
  assert.equal(badRegex.code, 2);
  assert.match(badRegex.stderr, /malformed issuer in identity/);
  assert.equal((await cli(keylessRef, '--key', 'missing.pub')).code, 2);
  assert.equal(
    (await cli(keylessRef, '--issuer', ISSUER, '--subject', SUBJECT, '--trusted-root', 'cosign.pub')).code,
    2,
  );
});
