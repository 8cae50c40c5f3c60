import { generateKeyPairSync } from 'node:crypto';
import { publicKeyFingerprint } from '../../src/core/trust/index.ts';
import { ruleTester } from '../helpers/rule-tester.ts';

const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ format: 'pem', type: 'spki' })
  .toString();
const TRUSTED = publicKeyFingerprint(pem)!;
const OTHER = `sha256:${'0'.repeat(64)}`;
const TENANT = `sha256:${'e'.repeat(64)}`;
const POLICY = `ociRepository: {trustedKeys: ["${TRUSTED}", "${OTHER}"]}`;
const PEM_POLICY = `ociRepository:\n  trustedKeys:\n    - |\n${pem
  .trim()
  .split('\n')
  .map((line) => `      ${line}`)
  .join('\n')}`;
const KEYED = 'spec: {verify: {provider: cosign, secretRef: {name: cosign-pub}}}';
const seen = (...fingerprints: Array<string | undefined>) => ({
  keys: { ok: true as const, keys: fingerprints.map((fingerprint) => ({ fingerprint })) },
});

ruleTester('key-not-trusted', {
  valid: [
    { name: 'every key in the Secret is trusted', yaml: KEYED, policy: POLICY, verifySecrets: seen(TRUSTED, OTHER) },
    {
      name: 'a trusted key listed as PEM in the policy',
      yaml: KEYED,
      policy: PEM_POLICY,
      verifySecrets: seen(TRUSTED),
    },
    {
      name: 'keyless verification names no Secret',
      yaml: 'spec: {verify: {matchOIDCIdentity: [{issuer: a, subject: b}]}}',
      policy: POLICY,
    },
    {
      name: 'notation secretRef is not a cosign key',
      yaml: 'spec: {verify: {provider: notation, secretRef: {name: n}}}',
      policy: `ociRepository: {trustedKeys: ["${TRUSTED}"], allowedVerifyProviders: [notation]}`,
    },
    {
      name: 'key-based not allowed at all: key-based-not-allowed reports it',
      yaml: KEYED,
      verifySecrets: seen(TENANT),
    },
  ],
  invalid: [
    {
      name: 'a tenant key next to a trusted one',
      yaml: KEYED,
      policy: POLICY,
      verifySecrets: seen(TRUSTED, TENANT),
      paths: ['spec.verify.secretRef'],
      messageIncludes: ['1 of the 2 public keys', 'trustedKeys'],
    },
    {
      name: 'only a tenant key',
      yaml: KEYED,
      policy: POLICY,
      verifySecrets: seen(TENANT),
      paths: ['spec.verify.secretRef'],
      messageIncludes: ['not in spec.ociRepository.trustedKeys'],
    },
    {
      name: 'a .pub entry that is no public key',
      yaml: KEYED,
      policy: POLICY,
      verifySecrets: seen(TRUSTED, undefined),
      paths: ['spec.verify.secretRef'],
      messageIncludes: ['not PEM public keys'],
    },
    {
      name: 'a Secret without .pub entries',
      yaml: KEYED,
      policy: POLICY,
      verifySecrets: seen(),
      paths: ['spec.verify.secretRef'],
      messageIncludes: ['no cosign public key'],
    },
    {
      name: 'the Secret could not be read',
      yaml: KEYED,
      policy: POLICY,
      verifySecrets: { keys: { ok: false, problem: 'Secret apps/cosign-pub not found' } },
      paths: ['spec.verify.secretRef'],
      messageIncludes: ['not found'],
    },
    {
      name: 'offline: nobody could look, so a warning says so',
      yaml: KEYED,
      policy: POLICY,
      phase: 'offline',
      paths: ['spec.verify.secretRef'],
      severity: 'warning',
      messageIncludes: ['could not be checked here'],
    },
    {
      name: 'admission without a Secret reader (check --resolve) also only warns',
      yaml: KEYED,
      policy: POLICY,
      paths: ['spec.verify.secretRef'],
      severity: 'warning',
    },
  ],
});
