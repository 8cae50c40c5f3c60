import { ruleTester } from '../helpers/rule-tester.ts';

const ROOT = `sha256:${'1'.repeat(64)}`;
const TENANT_ROOT = `sha256:${'f'.repeat(64)}`;
const POLICY = `ociRepository: {trustedRoots: ["${ROOT}"]}`;
const WITH_ROOT =
  'spec: {verify: {provider: cosign, trustedRootSecretRef: {name: sigstore-root}, matchOIDCIdentity: [{issuer: "^a$", subject: "^b$"}]}}';
const seen = (digest: string) => ({ trustedRoot: { ok: true as const, digest } });

ruleTester('trusted-root-not-allowed', {
  valid: [
    {
      name: 'the root in the Secret is one the policy lists',
      yaml: WITH_ROOT,
      policy: POLICY,
      verifySecrets: seen(ROOT),
    },
    {
      name: 'no trustedRootSecretRef: the public-good root',
      yaml: 'spec: {verify: {matchOIDCIdentity: [{issuer: "^a$", subject: "^b$"}]}}',
    },
    {
      name: 'notation ignores trustedRootSecretRef',
      yaml: 'spec: {verify: {provider: notation, trustedRootSecretRef: {name: r}}}',
    },
  ],
  invalid: [
    {
      name: 'a tenant root',
      yaml: WITH_ROOT,
      policy: POLICY,
      verifySecrets: seen(TENANT_ROOT),
      paths: ['spec.verify.trustedRootSecretRef'],
      messageIncludes: ['not one of spec.ociRepository.trustedRoots'],
    },
    {
      name: 'the policy lists no root: denied even offline',
      yaml: WITH_ROOT,
      phase: 'offline',
      paths: ['spec.verify.trustedRootSecretRef'],
      messageIncludes: ['accepts no custom Sigstore trusted root'],
    },
    {
      name: 'the Secret could not be read',
      yaml: WITH_ROOT,
      policy: POLICY,
      verifySecrets: {
        trustedRoot: { ok: false, problem: "'trusted_root.json' not found in Secret apps/sigstore-root" },
      },
      paths: ['spec.verify.trustedRootSecretRef'],
      messageIncludes: ['not found'],
    },
    {
      name: 'offline with trusted roots: a warning that nobody could look',
      yaml: WITH_ROOT,
      policy: POLICY,
      phase: 'offline',
      paths: ['spec.verify.trustedRootSecretRef'],
      severity: 'warning',
      messageIncludes: ['could not be checked here'],
    },
    {
      name: 'key-based with a custom root is checked too',
      yaml: 'spec: {verify: {secretRef: {name: k}, trustedRootSecretRef: {name: r}}}',
      paths: ['spec.verify.trustedRootSecretRef'],
    },
  ],
});
