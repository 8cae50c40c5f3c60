// What we read from Fulcio certificates ourselves and how identities match (Go RE2 semantics via re2js).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { certificateFacts, formatIp } from '../../../src/signature/certificate.ts';
import { assertIntegratedWithinValidity } from '../../../src/signature/checks.ts';
import { goRegexMatches as goMatchString } from '../../../src/core/go-regex.ts';
import { assertIdentityAllowed, identityPolicy } from '../../../src/signature/identity.ts';
import type { FulcioLikeCa } from '../../helpers/sigstore-fixtures.ts';
import { TEST_ISSUER, TEST_SUBJECT, createFulcioLikeCa, mintLeaf } from '../../helpers/sigstore-fixtures.ts';

let ca: FulcioLikeCa;
before(async () => {
  ca = await createFulcioLikeCa();
});

test('every SAN is read, in cosign order: DNS, email, IP, URI, Fulcio username otherName', async () => {
  const leaf = await mintLeaf(ca, {
    extraSans: {
      email: 'ci@acme.example',
      dns: 'build.acme.example',
      ip: new Uint8Array([10, 0, 0, 7]),
      username: 'octocat',
    },
  });
  const facts = certificateFacts(leaf.certificateDer);
  assert.deepEqual(facts.subjects, ['build.acme.example', 'ci@acme.example', '10.0.0.7', TEST_SUBJECT, 'octocat']);
  assert.equal(facts.issuer, TEST_ISSUER);
  assert.ok(facts.extendedKeyUsages.includes('1.3.6.1.5.5.7.3.3'));
});

test('issuer comes from 57264.1.8, else from the legacy 57264.1.1', async () => {
  const v1 = certificateFacts(
    (await mintLeaf(ca, { issuer: 'https://legacy.example', issuerExtensions: ['v1'] })).certificateDer,
  );
  const v2 = certificateFacts(
    (await mintLeaf(ca, { issuer: 'https://new.example', issuerExtensions: ['v2'] })).certificateDer,
  );
  const none = certificateFacts((await mintLeaf(ca, { issuerExtensions: [] })).certificateDer);
  assert.deepEqual([v1.issuer, v2.issuer, none.issuer], ['https://legacy.example', 'https://new.example', undefined]);
});

test('IP SANs print like Go net.IP.String()', () => {
  assert.equal(formatIp(new Uint8Array([192, 168, 1, 2])), '192.168.1.2');
  assert.equal(formatIp(Buffer.from('00000000000000000000ffff7f000001', 'hex')), '127.0.0.1');
  assert.equal(formatIp(Buffer.from('20010db8000000000000000000000001', 'hex')), '2001:db8::1');
  assert.equal(formatIp(Buffer.from('00000000000000000000000000000001', 'hex')), '::1');
  assert.equal(formatIp(Buffer.from('20010db8000100000001000000000001', 'hex')), '2001:db8:1:0:1::1');
});

test('Go MatchString semantics: unanchored, RE2 syntax, no JS-only constructs', () => {
  assert.equal(goMatchString('github', 'https://github.com/acme'), true);
  assert.equal(goMatchString('^github', 'https://github.com/acme'), false);
  assert.equal(goMatchString('(?i)^HTTPS://GITHUB\\.COM/', 'https://github.com/acme'), true);
  assert.equal(goMatchString('\\Ahttps://x\\z', 'https://x'), true);
  assert.equal(goMatchString('^(a+)+$', `${'a'.repeat(40)}b`), false, 'linear time, no ReDoS');
  assert.throws(() => identityPolicy([{ issuer: '(?=x)', subject: '' }]), /malformed issuer in identity/);
  assert.throws(() => identityPolicy([{ issuer: '', subject: 'a{1001}' }]), /malformed subject in identity/);
});

test('identities are OR-ed, the subject may match any SAN, an empty pattern constrains nothing', async () => {
  const facts = certificateFacts(
    (await mintLeaf(ca, { extraSans: { email: 'release-bot@acme.example' } })).certificateDer,
  );
  const policy = (issuer: string, subject: string) =>
    identityPolicy([
      { issuer: 'nope', subject: 'nope' },
      { issuer, subject },
    ]);
  assert.doesNotThrow(() =>
    assertIdentityAllowed(
      policy('^https://token\\.actions\\.githubusercontent\\.com$', '^release-bot@acme\\.example$'),
      facts,
    ),
  );
  assert.doesNotThrow(() => assertIdentityAllowed(policy('', '^release-bot@'), facts));
  assert.doesNotThrow(() => assertIdentityAllowed(policy('githubusercontent', ''), facts));
  assert.throws(
    () => assertIdentityAllowed(policy('gitlab', ''), facts),
    /none of the expected identities matched .* with issuer https:\/\/token/,
  );
  assert.throws(() => identityPolicy([]), /no identities configured/);
  assert.doesNotThrow(() => assertIdentityAllowed(identityPolicy([], true), facts));
});

test('our own check: an integrated time outside the leaf validity is refused', async () => {
  const leaf = await mintLeaf(ca);
  const facts = certificateFacts(leaf.certificateDer);
  const entry = (seconds: number) => ({ integratedTime: String(seconds) }) as never;
  const inside = Math.floor(leaf.notBefore.getTime() / 1000) + 30;
  const after = Math.floor(leaf.notAfter.getTime() / 1000) + 1;
  assert.doesNotThrow(() => assertIntegratedWithinValidity([entry(inside), entry(0)], facts));
  assert.throws(() => assertIntegratedWithinValidity([entry(after)], facts), /outside the certificate validity/);
});
