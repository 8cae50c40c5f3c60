import { ruleTester } from '../helpers/rule-tester.ts';

ruleTester('key-based-not-allowed', {
  valid: [
    { name: 'key-based allowed by default', yaml: 'spec: {verify: {provider: cosign, secretRef: {name: k}}}' },
    { name: 'keyless when keys are forbidden', yaml: 'spec: {verify: {matchOIDCIdentity: [{issuer: a, subject: b}]}}', policy: 'ociRepository: {allowKeyBased: false}' },
    { name: 'notation secretRef is not a cosign key', yaml: 'spec: {verify: {provider: notation, secretRef: {name: n}}}', policy: 'ociRepository: {allowKeyBased: false}' },
  ],
  invalid: [
    { name: 'cosign key when forbidden', yaml: 'spec: {verify: {provider: cosign, secretRef: {name: k}}}', policy: 'ociRepository: {allowKeyBased: false}', paths: ['spec.verify.secretRef'] },
    { name: 'implicit cosign key when forbidden', yaml: 'spec: {verify: {secretRef: {name: k}}}', policy: 'ociRepository: {allowKeyBased: false}', paths: ['spec.verify.secretRef'] },
  ],
});
