import { test } from 'node:test';
import assert from 'node:assert/strict';
import { identityRegexps, quoteMeta } from '../../../src/cli/flags/cosign-identity.ts';
import { PinwardenError } from '../../../src/core/errors.ts';
import { goRegexMatches } from '../../../src/core/go-regex.ts';

test('cosign regexp names are the pinwarden flags', () => {
  assert.deepEqual(identityRegexps({ certificateOidcIssuerRegexp: '^a$', certificateIdentityRegexp: '^b' }), {
    issuer: '^a$',
    subject: '^b',
  });
  assert.deepEqual(identityRegexps({ issuer: 'i', subject: 's' }), { issuer: 'i', subject: 's' });
});

test('exact cosign names are quoted and anchored: no other value matches', () => {
  const subject = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0';
  const { issuer, subject: pattern } = identityRegexps({
    certificateOidcIssuer: 'https://token.actions.githubusercontent.com',
    certificateIdentity: subject,
  });
  assert.equal(issuer, '^https://token\\.actions\\.githubusercontent\\.com$');
  assert.ok(goRegexMatches(pattern!, subject));
  for (const other of [`${subject}x`, `x${subject}`, subject.replace('.github', 'Xgithub'), subject.slice(0, -1)]) {
    assert.equal(goRegexMatches(pattern!, other), false, other);
  }
});

test('two spellings of one field are a usage error', () => {
  assert.throws(
    () => identityRegexps({ subject: 'a', certificateIdentity: 'b' }),
    (error: unknown) =>
      error instanceof PinwardenError &&
      error.code === 'PW_INPUT_INVALID' &&
      /--subject and --certificate-identity/.test(error.message),
  );
  assert.throws(
    () => identityRegexps({ certificateOidcIssuer: 'a', certificateOidcIssuerRegexp: 'b' }),
    PinwardenError,
  );
});

test('quoteMeta escapes every RE2 metacharacter', () => {
  const special = '\\.+*?()|[]{}^$';
  assert.equal(
    quoteMeta(special),
    special
      .split('')
      .map((char) => `\\${char}`)
      .join(''),
  );
  assert.equal(quoteMeta('plain-text_123/@:'), 'plain-text_123/@:');
});
