// Identity patterns with claim regexes (Go RE2, unanchored, empty = no constraint, an absent claim fails).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CertificateClaims } from '../../../../src/core/binding/index.ts';
import { constrainsClaims, identityMismatch } from '../../../../src/core/binding/index.ts';

const claims = (values: CertificateClaims['values']): CertificateClaims => ({ values, origins: {}, problems: [] });
const signer = {
  issuer: 'https://token.actions.githubusercontent.com',
  subjects: ['https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main'],
  claims: claims({
    sourceRepositoryRef: 'refs/heads/main',
    runnerEnvironment: 'github-hosted',
    buildSignerURI: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
  }),
};
const base = { issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/' };

test('issuer, subject and every claim pattern must match', () => {
  assert.equal(
    identityMismatch(
      {
        ...base,
        sourceRepositoryRef: '^refs/heads/main$',
        runnerEnvironment: '^github-hosted$',
        buildSignerURI: '/release\\.yml@',
      },
      signer,
    ),
    undefined,
  );
  assert.equal(
    identityMismatch({ ...base, sourceRepositoryRef: '^refs/heads/dev$' }, signer),
    'sourceRepositoryRef refs/heads/main does not match ^refs/heads/dev$',
  );
  assert.equal(
    identityMismatch({ ...base, runnerEnvironment: '^self-hosted$' }, signer),
    'runnerEnvironment github-hosted does not match ^self-hosted$',
  );
  assert.match(
    identityMismatch({ ...base, subject: '^https://github\\.com/other/' }, signer) ?? '',
    /^no subject of \[/,
  );
  assert.match(
    identityMismatch({ ...base, issuer: '^https://gitlab\\.com$' }, signer) ?? '',
    /^issuer https:\/\/token/,
  );
});

test('unanchored like Go MatchString; empty pattern = no constraint; an absent claim fails a constraint', () => {
  assert.equal(identityMismatch({ ...base, sourceRepositoryRef: 'heads/ma' }, signer), undefined);
  assert.equal(identityMismatch({ ...base, sourceRepositoryRef: '' }, signer), undefined);
  const none = { ...signer, claims: claims({}) };
  assert.equal(
    identityMismatch({ ...base, runnerEnvironment: '.*' }, none),
    'the certificate has no runnerEnvironment claim (wanted .*)',
  );
  assert.equal(identityMismatch(base, none), undefined);
});

test('constrainsClaims: only non-empty claim patterns count', () => {
  assert.equal(constrainsClaims({}), false);
  assert.equal(constrainsClaims({ sourceRepositoryRef: '' }), false);
  assert.equal(constrainsClaims({ buildSignerURI: 'x' }), true);
});
