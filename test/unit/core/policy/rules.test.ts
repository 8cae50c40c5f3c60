// Loading spec.rules: what the schema and the load-time checks accept and refuse, and that a rule's block gets the flat block's checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../../src/core/errors.ts';
import { loadPolicy } from '../../../../src/core/policy/index.ts';
import { PLATFORM_KEY_FINGERPRINT } from '../../../helpers/trust.ts';

const HEADER = 'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: p}\n';

function refused(spec: string): string {
  try {
    loadPolicy(`${HEADER}spec:\n${spec}`, 'policy.yaml');
  } catch (error) {
    assert.ok(error instanceof PinwardenError);
    assert.equal(error.code, 'PW_POLICY_INVALID');
    return error.message;
  }
  assert.fail('expected the policy to be refused');
}

test('a flat policy loads as before and has no rules', () => {
  const policy = loadPolicy(`${HEADER}spec: {ociRepository: {requireVerify: false}}\n`, 'p');
  assert.equal(policy.spec.rules, undefined);
  assert.equal(policy.spec.ociRepository.requireVerify, false);
});

test("each rule gets the secure defaults of the flat blocks, not the flat blocks' values", () => {
  const policy = loadPolicy(
    `${HEADER}spec:\n  ociRepository: {requireVerify: false}\n  rules:\n    - {name: a, match: {namespaces: [x]}}\n`,
    'p',
  );
  const rule = policy.spec.rules?.[0];
  assert.equal(rule?.ociRepository.requireVerify, true);
  assert.equal(rule?.ociRepository.allowKeyBased, false);
  assert.deepEqual(rule?.bucket, { requireIgnore: true, allowInsecure: false });
  assert.equal(rule?.registry, undefined, 'registry fields are inherited, so nothing is filled in');
});

test('per-rule trustedKeys turn on key-based verification for that rule only', () => {
  const policy = loadPolicy(
    `${HEADER}spec:\n  rules:\n    - {name: vendor, match: {urls: ['oci://ghcr.io/vendor']}, ociRepository: {trustedKeys: ['${PLATFORM_KEY_FINGERPRINT}']}}\n`,
    'p',
  );
  assert.equal(policy.spec.rules?.[0]?.ociRepository.allowKeyBased, true);
  assert.equal(policy.spec.ociRepository.allowKeyBased, false);
});

const REFUSALS: Array<{ name: string; spec: string; message: RegExp }> = [
  {
    name: 'duplicate names',
    spec: '  rules:\n    - {name: a, match: {namespaces: [x]}}\n    - {name: a, match: {namespaces: [y]}}\n',
    message: /spec\.rules\[1\]\.name: 'a' is already the name of spec\.rules\[0\]/,
  },
  {
    name: 'a rule without match before other rules',
    spec: '  rules:\n    - {name: all}\n    - {name: late, match: {namespaces: [y]}}\n',
    message:
      /spec\.rules\[0\] 'all' has no match, so it decides every object and spec\.rules\[1\] 'late' and later can never decide/,
  },
  {
    name: 'an empty match counts as no match',
    spec: '  rules:\n    - {name: all, match: {}}\n    - {name: late, match: {namespaces: [y]}}\n',
    message: /spec\.rules\[0\] 'all' has no match/,
  },
  {
    name: 'flat blocks next to a closing rule are never used',
    spec: '  ociRepository: {requireVerify: false}\n  rules:\n    - {name: all}\n',
    message: /spec\.ociRepository: never used, because spec\.rules\[0\] 'all' has no match/,
  },
  {
    name: 'default names the closing rule made from the flat blocks',
    spec: '  rules:\n    - {name: default, match: {namespaces: [x]}}\n',
    message: /'default' names the closing rule made from spec\.ociRepository/,
  },
  {
    name: 'In without values',
    spec: '  rules:\n    - {name: a, match: {selector: {matchExpressions: [{key: team, operator: In}]}}}\n',
    message: /spec\.rules\[0\]\.match\.selector\.matchExpressions\[0\]: operator In needs at least one value/,
  },
  {
    name: 'Exists with values',
    spec: '  rules:\n    - {name: a, match: {namespaceSelector: {matchExpressions: [{key: team, operator: Exists, values: [x]}]}}}\n',
    message: /operator Exists takes no values/,
  },
  {
    name: 'an empty url list (ambiguous: nothing, or everything?)',
    spec: '  rules:\n    - {name: a, match: {urls: []}}\n',
    message: /spec\.rules\[0\]\.match\.urls.*must NOT have fewer than 1 items/,
  },
  {
    name: 'a url that is not oci://',
    spec: "  rules:\n    - {name: a, match: {urls: ['https://ghcr.io/acme']}}\n",
    message: /spec\.rules\[0\]\.match\.urls\[0\]/,
  },
  {
    name: 'an unknown match field',
    spec: '  rules:\n    - {name: a, match: {kinds: [Bucket]}}\n',
    message: /spec\.rules\[0\]\.match\.kinds.*unknown field/,
  },
  {
    name: 'a rule name that is not a DNS label',
    spec: '  rules:\n    - {name: Own_Apps, match: {namespaces: [x]}}\n',
    message: /spec\.rules\[0\]\.name/,
  },
  {
    name: 'an invalid identity regex, named at the rule',
    spec: "  rules:\n    - {name: a, match: {namespaces: [x]}, ociRepository: {allowedIdentities: [{issuer: '^https://x$', subject: '(unclosed'}]}}\n",
    message: /spec\.rules\[0\]\.ociRepository\.allowedIdentities\[0\]\.subject/,
  },
  {
    name: 'allowKeyBased without trustedKeys, named at the rule',
    spec: '  rules:\n    - {name: a, match: {namespaces: [x]}, ociRepository: {allowKeyBased: true}}\n',
    message: /spec\.rules\[0\]\.ociRepository\.allowKeyBased: true needs spec\.rules\[0\]\.ociRepository\.trustedKeys/,
  },
  {
    name: 'a rule timeout above the flat maximum',
    spec: '  rules:\n    - {name: a, match: {namespaces: [x]}, registry: {timeoutSeconds: 60}}\n',
    message: /spec\.rules\[0\]\.registry\.timeoutSeconds/,
  },
];

for (const entry of REFUSALS) {
  test(`refused: ${entry.name}`, () => {
    assert.match(refused(entry.spec), entry.message);
  });
}

test('the line of a schema error inside a rule is reported', () => {
  const message = refused('  rules:\n    - name: a\n      match:\n        namespace: [x]\n');
  assert.match(message, /spec\.rules\[0\]\.match\.namespace \(line 8\): unknown field/);
});
