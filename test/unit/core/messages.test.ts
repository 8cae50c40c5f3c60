// Messages that fit the case (issue #12 item 5): each behaviour below is one test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from '../../../src/core/evaluate.ts';
import type { Finding } from '../../../src/core/findings.ts';
import { isFloatingTag, planPin } from '../../../src/core/mutation/index.ts';
import { loadPolicy } from '../../../src/core/policy/index.ts';
import { literalPrefix } from '../../../src/core/rules/identity-messages.ts';
import { MAX_WARNING_LENGTH } from '../../../src/webhook/index.ts';
import { warningLine } from '../../../src/webhook/warnings.ts';
import { PLATFORM_KEY_FINGERPRINT } from '../../helpers/trust.ts';

const HEADER = 'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: p}\n';
const ISSUER = '^https://token\\.actions\\.githubusercontent\\.com$';
const ACME = '^https://github\\.com/acme/[^/]+/\\.github/workflows/release\\.yml@refs/tags/v[0-9.]+$';
const FLUX = '^https://github\\.com/fluxcd/flux2/\\.github/workflows/release\\.yaml@refs/tags/v[0-9.]+$';
const DIGEST = `sha256:${'c'.repeat(64)}`;

const POLICY = loadPolicy(
  `${HEADER}spec:
  rules:
    - name: vendor-keys
      match: {urls: ['oci://ghcr.io/vendor']}
      ociRepository: {trustedKeys: ['${PLATFORM_KEY_FINGERPRINT}']}
    - name: locked
      match: {urls: ['oci://ghcr.io/locked']}
  ociRepository:
    allowedIdentities:
      - {issuer: '${ISSUER}', subject: '${ACME}'}
      - {issuer: '${ISSUER}', subject: '${FLUX}'}
`,
  'p',
);

function keyless(subject: string, issuer = ISSUER, url = 'oci://ghcr.io/acme/app'): unknown {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'app', namespace: 'apps' },
    spec: { url, ref: { digest: DIGEST }, verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer, subject }] } },
  };
}

function identityFinding(subject: string, issuer = ISSUER, url?: string): Finding {
  const found = evaluate(keyless(subject, issuer, url), POLICY, { phase: 'offline' }).findings.find(
    (finding) => finding.ruleId === 'identity-not-allowed',
  );
  assert.ok(found, 'expected identity-not-allowed');
  return found;
}

test('an anchored regex that is too broad: narrow it to the allowed one, no advice to anchor', () => {
  const finding = identityFinding('^https://github\\.com/acme/.*$');
  assert.doesNotMatch(finding.fix, /anchor|\^…\$/);
  assert.doesNotMatch(finding.message, /unanchored/);
  assert.match(finding.fix, /^narrow the subject regex to fit "\^https:\/\/github\\\.com\/acme\//);
});

test('an unanchored regex: anchoring (and escaping dots) is suggested', () => {
  const finding = identityFinding(
    '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v1$',
    'https://token.actions.githubusercontent.com',
  );
  assert.match(finding.path, /\.issuer$/);
  assert.match(finding.fix, /anchor it with \^…\$ and escape dots as \\\./);
  assert.match(finding.message, /; Flux matches unanchored\)$/);
  const startOnly = identityFinding('^https://github\\.com/acme/.*', ISSUER);
  assert.match(startOnly.fix, /: end it with \$$/, 'only the missing end anchor is named');
  assert.doesNotMatch(startOnly.fix, /escape dots/, 'its dots are escaped');
});

test('another org or repository: the closest allowed identity is named, not "anchor it"', () => {
  const other = identityFinding('^https://github\\.com/evil/app/\\.github/workflows/release\\.yml@refs/tags/v1$');
  assert.match(
    other.fix,
    /after "https:\/\/github\.com\/" it names "evil\/…" where the closest allowed subject names "acme\/…" \(another organisation or repository\)/,
  );
  assert.match(other.fix, /sign with an identity inside "\^https:\/\/github\\\.com\/acme\//);
  assert.doesNotMatch(other.fix, /anchor/);
  const typo = identityFinding(
    '^https://github\\.com/flux-cd/flux2/\\.github/workflows/release\\.yaml@refs/tags/v2\\.0\\.0$',
  );
  assert.match(typo.fix, /names "flux-cd\/…" where the closest allowed subject names "fluxcd\/…"/);
});

test('an empty pattern reads "matches every identity"', () => {
  const finding = identityFinding('');
  assert.equal(
    finding.message,
    'subject is empty, which matches every identity, and no allowed identity accepts every subject',
  );
  assert.match(finding.fix, /^set subject to the signer you trust, anchored, e\.g\. "\^https/);
});

test('the deciding rule allows no identity: the hint never suggests adding one', () => {
  const withKeys = evaluate(keyless(ACME, ISSUER, 'oci://ghcr.io/vendor/chart'), POLICY, {
    phase: 'offline',
  }).findings.find((finding) => finding.ruleId === 'identity-not-allowed');
  assert.equal(withKeys?.message, 'rule vendor-keys allows no keyless identity');
  assert.match(withKeys?.fix ?? '', /verify with a public key rule vendor-keys trusts \(spec\.verify\.secretRef\)/);
  const locked = evaluate(keyless(ACME, ISSUER, 'oci://ghcr.io/locked/app'), POLICY, {
    phase: 'offline',
  }).findings.find((finding) => finding.ruleId === 'identity-not-allowed');
  assert.match(locked?.fix ?? '', /rule locked accepts neither keyless identities nor public keys/);
  for (const finding of [withKeys, locked])
    assert.doesNotMatch(`${finding?.message} ${finding?.fix}`, /add|allowedIdentities/i);
});

test("fixes name the deciding rule's own fields", () => {
  const notation = {
    ...(keyless(ACME, ISSUER, 'oci://ghcr.io/locked/app') as object),
    spec: {
      url: 'oci://ghcr.io/locked/app',
      ref: { digest: DIGEST },
      verify: { provider: 'notation', secretRef: { name: 'trust' } },
    },
  };
  const finding = evaluate(notation, POLICY, { phase: 'offline' }).findings.find(
    (entry) => entry.ruleId === 'verify-provider-not-allowed',
  );
  assert.match(finding?.fix ?? '', /add "notation" to spec\.rules\[1\]\.ociRepository\.allowedVerifyProviders/);
  const flat = evaluate(
    { ...notation, spec: { ...(notation as { spec: object }).spec, url: 'oci://ghcr.io/acme/app' } },
    POLICY,
    { phase: 'offline' },
  ).findings.find((entry) => entry.ruleId === 'verify-provider-not-allowed');
  assert.match(
    flat?.fix ?? '',
    /add "notation" to spec\.ociRepository\.allowedVerifyProviders/,
    'the flat blocks keep their own path',
  );
});

test('digest-required on a semver ref says semver pinning is off in policy, not that the webhook pins it', () => {
  const semver = {
    ...(keyless(ACME) as object),
    spec: {
      url: 'oci://ghcr.io/acme/app',
      ref: { semver: '>=1.0.0' },
      verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer: ISSUER, subject: ACME }] },
    },
  };
  for (const phase of ['offline', 'admission'] as const) {
    const finding = evaluate(semver, POLICY, { phase }).findings.find((entry) => entry.ruleId === 'digest-required');
    assert.match(
      finding?.message ?? '',
      /semver range ">=1\.0\.0" is not pinned to a digest, and semver pinning is off in this policy \(spec\.ociRepository\.mutate\.semverToDigest: false\), so the webhook does not pin it/,
      phase,
    );
    assert.doesNotMatch(finding?.fix ?? '', /let the mutating webhook/, phase);
  }
  const on = loadPolicy(`${HEADER}spec: {ociRepository: {mutate: {semverToDigest: true}}}\n`, 'p');
  const admitted = evaluate(semver, on, { phase: 'admission' }).findings.find(
    (entry) => entry.ruleId === 'digest-required',
  );
  assert.match(admitted?.fix ?? '', /let the mutating webhook pin the range/);
});

test('admission warnings put the cause first; the 120-character cut keeps it and the rule id', () => {
  const finding: Finding = {
    ruleId: 'digest-required',
    severity: 'warning',
    path: 'spec.ref.digest',
    message: `tag "6.6.2" is not pinned: registry ghcr.io unreachable: connect ECONNREFUSED ${'x '.repeat(80)}[PW_REGISTRY_UNREACHABLE]`,
    fix: 'set spec.ref.digest',
  };
  const line = warningLine(finding);
  assert.ok(line.length <= MAX_WARNING_LENGTH, `${line.length}`);
  assert.ok(line.startsWith('tag "6.6.2" is not pinned: registry ghcr.io unreachable'), line);
  assert.ok(line.endsWith('… [digest-required]'), line);
  const short = warningLine({ ...finding, message: 'tag "6.6.2" is not pinned to a digest' });
  assert.equal(short, 'tag "6.6.2" is not pinned to a digest [digest-required spec.ref.digest]');
});

test('sticky pinning of a floating tag warns with the frozen digest and how to move it', () => {
  const object = (tag: string, digest?: string): unknown => ({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'app', namespace: 'apps' },
    spec: { url: 'oci://ghcr.io/acme/app', ref: { tag, ...(digest ? { digest } : {}) } },
  });
  const policy = loadPolicy(`${HEADER}spec: {}\n`, 'p');
  const plan = planPin(object('latest'), object('latest', DIGEST), undefined, policy, new Date('2026-03-01T00:00:00Z'));
  assert.equal(plan.intent.action, 'reuse');
  assert.deepEqual(plan.warnings, [
    `pinwarden: kept sha256:cccccccccccc for floating tag "latest" (sticky); move it: change the tag or re-create the object`,
  ]);
  assert.ok((plan.warnings[0] ?? '').length <= MAX_WARNING_LENGTH);
  assert.deepEqual(
    planPin(object('v1.4.0'), object('v1.4.0', DIGEST), undefined, policy, new Date()).warnings,
    [],
    'a release tag is not floating',
  );
});

const FLOATING: Array<[string, boolean]> = [
  ['latest', true],
  ['stable', true],
  ['main', true],
  ['1.x-stable', true],
  ['release-latest', true],
  ['v1', true],
  ['6.2', true],
  ['v1.4.0', false],
  ['6.6.2', false],
  ['sha-1a2b3c4', false],
  ['2026-03-01', false],
  ['v2.0.0-rc.1', false],
];

for (const [tag, floating] of FLOATING) {
  test(`isFloatingTag(${tag}) is ${floating}`, () => {
    assert.equal(isFloatingTag(tag), floating);
  });
}

const PREFIXES: Array<[string, string]> = [
  ['^https://github\\.com/acme/.*$', 'https://github.com/acme/'],
  ['https://github.com/acme', 'https://github'],
  ['^https://github\\.com/acme-?corp/', 'https://github.com/acme'],
  ['^a+b', 'a'],
  ['^(https|http)://x', ''],
  ['^https://x|^https://y', ''],
];

for (const [pattern, prefix] of PREFIXES) {
  test(`literalPrefix(${pattern}) is "${prefix}"`, () => {
    assert.equal(literalPrefix(pattern), prefix);
  });
}
