import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PinwardenError } from '../../../../src/core/errors.ts';
import { defaultPolicy, loadPolicy } from '../../../../src/core/policy/index.ts';

const HEADER = 'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: p}\n';

function policyError(text: string): PinwardenError {
  try {
    loadPolicy(text, 'policy.yaml');
  } catch (error) {
    assert.ok(error instanceof PinwardenError);
    assert.equal(error.code, 'PW_POLICY_INVALID');
    return error;
  }
  assert.fail('expected the policy to be rejected');
}

test('defaults are the secure ones', () => {
  const { spec } = defaultPolicy();
  assert.equal(spec.mode, 'enforce');
  assert.deepEqual(spec.exemptNamespaces, []);
  assert.deepEqual(spec.ociRepository, {
    requireVerify: true,
    allowedVerifyProviders: ['cosign'],
    allowKeyBased: false,
    trustedKeys: [],
    trustedRoots: [],
    allowedIdentities: [],
    requireDigest: true,
    mutate: { tagToDigest: true, semverToDigest: false },
    pinning: 'sticky',
    allowInsecure: false,
    allowedRegistries: [],
    verifyAtAdmission: false,
    onUnsupportedProvider: 'deny',
    requireTlogForKeys: false,
    commitBinding: 'warn',
  });
  assert.deepEqual(spec.bucket, { requireIgnore: true, allowInsecure: false });
  assert.deepEqual(spec.registry, {
    timeoutSeconds: 2,
    cacheTTLSeconds: 60,
    onUnreachable: 'deny',
    allowNetworks: [],
    denyNetworks: [],
  });
});

test('partial sections are completed with defaults', () => {
  const policy = loadPolicy(`${HEADER}spec:\n  ociRepository:\n    mutate: {semverToDigest: true}\n`, 'p');
  assert.deepEqual(policy.spec.ociRepository.mutate, { tagToDigest: true, semverToDigest: true });
  assert.equal(policy.spec.ociRepository.requireVerify, true);
});

test('the sample policy in test/fixtures loads', () => {
  const policy = loadPolicy(
    readFileSync(new URL('../../../fixtures/policy.yaml', import.meta.url), 'utf8'),
    'policy.yaml',
  );
  assert.equal(policy.spec.ociRepository.allowedIdentities.length, 2);
});

const INVALID: Array<[string, string, string[]]> = [
  [
    'unknown field names the path',
    `${HEADER}spec:\n  ociRepository:\n    pinnig: sticky\n`,
    ['spec.ociRepository.pinnig', 'unknown field', 'line 6'],
  ],
  ['bad enum lists the choices', `${HEADER}spec:\n  mode: audit\n`, ['spec.mode', 'enforce, warn']],
  ['wrong type', `${HEADER}spec:\n  exemptNamespaces: kube-system\n`, ['spec.exemptNamespaces', 'must be array']],
  ['wrong kind', 'apiVersion: pinwarden.dev/v1alpha1\nkind: Policy\nmetadata: {name: p}\n', ['kind', 'SourcePolicy']],
  [
    'missing metadata.name',
    'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {}\n',
    ['metadata', 'name'],
  ],
  [
    'identity needs both fields',
    `${HEADER}spec:\n  ociRepository:\n    allowedIdentities: [{issuer: x}]\n`,
    ['allowedIdentities[0]', 'subject'],
  ],
  [
    'identity regex must be Go RE2',
    `${HEADER}spec:\n  ociRepository:\n    allowedIdentities: [{issuer: "^(?=x)", subject: "^a$"}]\n`,
    ['allowedIdentities[0].issuer', 'invalid or unsupported Perl syntax'],
  ],
  [
    'registry prefix must be oci://',
    `${HEADER}spec:\n  ociRepository:\n    allowedRegistries: [ghcr.io/acme]\n`,
    ['allowedRegistries[0]'],
  ],
  ['timeout range', `${HEADER}spec:\n  registry: {timeoutSeconds: 0}\n`, ['spec.registry.timeoutSeconds']],
  ['broken YAML names the line', `${HEADER}spec:\n  mode: [enforce\n`, ['policy.yaml:', 'not valid YAML']],
  ['not a mapping', '- just\n- a list\n', ['must be object']],
  [
    'allowKeyBased: true without trustedKeys says why and how to migrate',
    `${HEADER}spec:\n  ociRepository: {allowKeyBased: true}\n`,
    [
      'spec.ociRepository.allowKeyBased: true needs spec.ociRepository.trustedKeys',
      'any key a tenant puts in the Secret',
      'sha256sum',
      'allowKeyBased: false',
      'Policy reference',
    ],
  ],
  [
    'a trusted key is a fingerprint or a PEM public key',
    `${HEADER}spec:\n  ociRepository: {trustedKeys: ["sha256:ABC", "-----BEGIN PUBLIC KEY-----"]}\n`,
    ['trustedKeys[0]: neither', 'trustedKeys[1]: neither'],
  ],
  [
    'a trusted root is sha256:<hex>',
    `${HEADER}spec:\n  ociRepository: {trustedRoots: ["trusted_root.json"]}\n`,
    ['spec.ociRepository.trustedRoots[0]'],
  ],
  ['duplicate keys are ambiguous', `${HEADER}spec:\n  mode: warn\n  mode: enforce\n`, ['not valid YAML']],
];

for (const [name, text, fragments] of INVALID) {
  test(`invalid policy: ${name}`, () => {
    const error = policyError(text);
    for (const fragment of fragments)
      assert.ok(error.message.includes(fragment), `"${error.message}" lacks "${fragment}"`);
  });
}

test('every violation in one document is reported at once (allErrors)', () => {
  const error = policyError(`${HEADER}spec:\n  mode: audit\n  bucket: {requireIgnore: maybe}\n`);
  assert.ok(error.message.includes('spec.mode'));
  assert.ok(error.message.includes('spec.bucket.requireIgnore'));
});

test('allowKeyBased follows trustedKeys unless set: listing a key allows key-based, an explicit false still forbids it', () => {
  const fingerprint = `sha256:${'ab'.repeat(32)}`;
  const listed = loadPolicy(`${HEADER}spec:\n  ociRepository: {trustedKeys: ["${fingerprint}"]}\n`, 'p');
  assert.equal(listed.spec.ociRepository.allowKeyBased, true);
  const off = loadPolicy(
    `${HEADER}spec:\n  ociRepository: {trustedKeys: ["${fingerprint}"], allowKeyBased: false}\n`,
    'p',
  );
  assert.equal(off.spec.ociRepository.allowKeyBased, false);
  const explicit = loadPolicy(
    `${HEADER}spec:\n  ociRepository: {trustedKeys: ["${fingerprint}"], allowKeyBased: true}\n`,
    'p',
  );
  assert.equal(explicit.spec.ociRepository.allowKeyBased, true);
});

test('the example policies load under the trust rules', () => {
  for (const file of ['../../../../examples/policy.yaml', '../../../fixtures/policy.yaml']) {
    const policy = loadPolicy(readFileSync(new URL(file, import.meta.url), 'utf8'), file);
    assert.ok(policy.spec.ociRepository.trustedKeys.length > 0 === policy.spec.ociRepository.allowKeyBased, file);
  }
});

test('commitBinding: off | warn | enforce, default warn; anything else names the field', () => {
  assert.equal(defaultPolicy().spec.ociRepository.commitBinding, 'warn');
  assert.equal(
    loadPolicy(`${HEADER}spec: {ociRepository: {commitBinding: enforce}}\n`, 'p.yaml').spec.ociRepository.commitBinding,
    'enforce',
  );
  assert.match(
    policyError(`${HEADER}spec:\n  ociRepository:\n    commitBinding: strict\n`).message,
    /spec\.ociRepository\.commitBinding \(line 6\): must be one of off, warn, enforce/,
  );
});

test('claim patterns on allowedIdentities: Go RE2 checked, and they need verifyAtAdmission', () => {
  const identity =
    "{issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/', sourceRepositoryRef: '^refs/heads/main$', runnerEnvironment: '^github-hosted$', buildSignerURI: '/release\\.yml@'}";
  const ok = loadPolicy(
    `${HEADER}spec: {ociRepository: {verifyAtAdmission: true, allowedIdentities: [${identity}]}}\n`,
    'p.yaml',
  );
  assert.equal(ok.spec.ociRepository.allowedIdentities[0]?.sourceRepositoryRef, '^refs/heads/main$');
  assert.equal(ok.spec.ociRepository.allowedIdentities[0]?.runnerEnvironment, '^github-hosted$');
  const unenforced = policyError(`${HEADER}spec: {ociRepository: {allowedIdentities: [${identity}]}}\n`);
  assert.match(
    unenforced.message,
    /allowedIdentities\[0\]\.sourceRepositoryRef: certificate claim patterns need spec\.ociRepository\.verifyAtAdmission: true\. Flux's matchOIDCIdentity has only issuer and subject, so Flux would accept any sourceRepositoryRef, runnerEnvironment, buildSignerURI/,
  );
  const unpinned = policyError(
    `${HEADER}spec: {ociRepository: {verifyAtAdmission: true, requireDigest: false, allowedIdentities: [${identity}]}}\n`,
  );
  assert.match(
    unpinned.message,
    /allowedIdentities\[0\]\.sourceRepositoryRef: certificate claim patterns need spec\.ociRepository\.requireDigest: true\./,
  );
  assert.match(
    policyError(`${HEADER}spec: {ociRepository: {requireDigest: false, allowedIdentities: [${identity}]}}\n`).message,
    /need spec\.ociRepository\.verifyAtAdmission: true and requireDigest: true\./,
  );
  const bad = policyError(
    `${HEADER}spec: {ociRepository: {verifyAtAdmission: true, allowedIdentities: [{issuer: a, subject: b, runnerEnvironment: '(?=x)'}]}}\n`,
  );
  assert.match(bad.message, /allowedIdentities\[0\]\.runnerEnvironment: /);
  assert.match(
    policyError(
      `${HEADER}spec: {ociRepository: {verifyAtAdmission: true, allowedIdentities: [{issuer: a, subject: b, sourceRepositoryRef: ''}]}}\n`,
    ).message,
    /sourceRepositoryRef.*must NOT have fewer than 1 characters/,
  );
  assert.match(
    policyError(
      `${HEADER}spec: {ociRepository: {verifyAtAdmission: true, allowedIdentities: [{issuer: a, subject: b, workflowRef: x}]}}\n`,
    ).message,
    /allowedIdentities\[0\]\.workflowRef.*unknown field/,
  );
});
