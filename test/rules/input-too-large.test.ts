import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from '../../src/core/evaluate.ts';
import { INPUT_CAPS } from '../../src/core/input-caps.ts';
import { planIntent } from '../../src/core/mutation/index.ts';
import { objectFrom, policyFrom, ruleTester } from '../helpers/rule-tester.ts';

const ID = `{issuer: "^https://token\\\\.actions\\\\.githubusercontent\\\\.com$", subject: "^https://github\\\\.com/acme/app/.*$"}`;

ruleTester('input-too-large', {
  valid: [
    { name: 'a URL of exactly 2 KiB', yaml: `spec: {url: "oci://${'a'.repeat(INPUT_CAPS.urlBytes - 6)}"}` },
    {
      name: '16 identities',
      yaml: `spec: {verify: {provider: cosign, matchOIDCIdentity: [${Array(16).fill(ID).join(',')}]}}`,
    },
    { name: 'a 256-character semver range', yaml: `spec: {ref: {semver: ">=1.0.0${' '.repeat(249)}"}}` },
  ],
  invalid: [
    {
      name: 'a URL one byte over 2 KiB',
      yaml: `spec: {url: "oci://${'a'.repeat(INPUT_CAPS.urlBytes - 5)}"}`,
      paths: ['spec.url'],
      messageIncludes: ['2048 bytes'],
    },
    {
      name: 'a URL over 2 KiB in UTF-8 though under in characters',
      yaml: `spec: {url: "oci://${'é'.repeat(1100)}"}`,
      paths: ['spec.url'],
      messageIncludes: ['2206 bytes', 'cap of 2048 bytes'],
    },
    {
      name: '17 identities',
      yaml: `spec: {verify: {provider: cosign, matchOIDCIdentity: [${Array(17).fill(ID).join(',')}]}}`,
      paths: ['spec.verify.matchOIDCIdentity'],
      messageIncludes: ['17 entries', '16 entries'],
    },
    {
      name: 'a 1025-byte subject',
      yaml: `spec: {verify: {provider: cosign, matchOIDCIdentity: [{issuer: x, subject: "${'b'.repeat(1025)}"}]}}`,
      paths: ['spec.verify.matchOIDCIdentity[0].subject'],
      messageIncludes: ['1024 bytes'],
    },
    {
      name: 'a 257-character semver range',
      yaml: `spec: {ref: {semver: ">=1.0.0${' '.repeat(250)}"}}`,
      paths: ['spec.ref.semver'],
      messageIncludes: ['256 characters'],
    },
    {
      name: 'a 1025-byte semverFilter',
      yaml: `spec: {ref: {semver: ">=1.0.0", semverFilter: "${'c'.repeat(1025)}"}}`,
      paths: ['spec.ref.semverFilter'],
    },
  ],
});

test('an oversized object gets only the cap finding: no other rule (and no identity automaton) runs', () => {
  const entries = Array.from({ length: 25_000 }, (_, index) => ({
    issuer: `^https://issuer${index}\\.example$`,
    subject: '(a|b)*a(a|b){30}',
  }));
  const object = {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'x', namespace: 'apps' },
    spec: { url: `oci://${'a'.repeat(3_000_000)}`, verify: { provider: 'cosign', matchOIDCIdentity: entries } },
  };
  const started = performance.now();
  const evaluation = evaluate(
    object,
    policyFrom('ociRepository: {allowedIdentities: [{issuer: "^x$", subject: "^y$"}]}'),
    { phase: 'admission' },
  );
  const elapsed = performance.now() - started;
  assert.equal(evaluation.verdict, 'deny');
  assert.deepEqual(
    evaluation.findings.map((finding) => finding.ruleId),
    ['input-too-large', 'input-too-large'],
  );
  assert.deepEqual(
    evaluation.findings.map((finding) => finding.path),
    ['spec.url', 'spec.verify.matchOIDCIdentity'],
  );
  assert.ok(elapsed < 2000, `decided from lengths, took ${elapsed} ms`);
});

test('the mutating side does not pin an oversized object, and says which cap', () => {
  const intent = planIntent(
    objectFrom(`spec: {url: "oci://${'a'.repeat(5000)}", ref: {tag: v1}}`),
    undefined,
    policyFrom(),
  );
  assert.equal(intent.action, 'none');
  assert.ok(intent.action === 'none' && intent.reason === 'input-too-large');
  assert.match(intent.action === 'none' ? (intent.note ?? '') : '', /PW_INPUT_TOO_LARGE.*spec\.url.*2048 bytes/);
});

test('a Bucket spec.ignore over 16 KiB is refused from its length; under it the ignore rule still runs', () => {
  const bucket = (ignore: string): unknown => ({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'Bucket',
    metadata: { name: 'b', namespace: 'apps' },
    spec: { bucketName: 'x', endpoint: 'minio:9000', ignore },
  });
  const over = evaluate(bucket('/*\n!/deploy\n'.repeat(100_000)), policyFrom(), { phase: 'admission' });
  assert.deepEqual(
    over.findings.map((finding) => [finding.ruleId, finding.path]),
    [['input-too-large', 'spec.ignore']],
  );
  assert.match(over.findings[0]?.message ?? '', /16384 bytes/);
  const under = evaluate(bucket('# only a comment\n'.repeat(100)), policyFrom(), { phase: 'admission' });
  assert.deepEqual(
    under.findings.map((finding) => finding.ruleId),
    ['bucket-ignore-required'],
  );
});
