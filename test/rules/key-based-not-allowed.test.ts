import { ruleTester } from '../helpers/rule-tester.ts';

const TRUSTED = `sha256:${'0'.repeat(64)}`;

ruleTester('key-based-not-allowed', {
  valid: [
    {
      name: 'listing trustedKeys allows key-based by default',
      yaml: 'spec: {verify: {provider: cosign, secretRef: {name: k}}}',
      policy: `ociRepository: {trustedKeys: ["${TRUSTED}"]}`,
    },
    {
      name: 'keyless when keys are forbidden',
      yaml: 'spec: {verify: {matchOIDCIdentity: [{issuer: a, subject: b}]}}',
      policy: 'ociRepository: {allowKeyBased: false}',
    },
    {
      name: 'notation secretRef is not a cosign key',
      yaml: 'spec: {verify: {provider: notation, secretRef: {name: n}}}',
      policy: 'ociRepository: {allowKeyBased: false}',
    },
  ],
  invalid: [
    {
      name: 'the default policy trusts no key',
      yaml: 'spec: {verify: {provider: cosign, secretRef: {name: k}}}',
      paths: ['spec.verify.secretRef'],
      messageIncludes: ['trusts no public key'],
    },
    {
      name: 'cosign key when forbidden',
      yaml: 'spec: {verify: {provider: cosign, secretRef: {name: k}}}',
      policy: `ociRepository: {allowKeyBased: false, trustedKeys: ["${TRUSTED}"]}`,
      paths: ['spec.verify.secretRef'],
      messageIncludes: ['allowKeyBased: false'],
    },
    {
      name: 'implicit cosign key when forbidden',
      yaml: 'spec: {verify: {secretRef: {name: k}}}',
      policy: 'ociRepository: {allowKeyBased: false}',
      paths: ['spec.verify.secretRef'],
    },
  ],
});
