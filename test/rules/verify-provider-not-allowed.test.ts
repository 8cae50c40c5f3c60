import { ruleTester } from '../helpers/rule-tester.ts';

ruleTester('verify-provider-not-allowed', {
  valid: [
    { name: 'cosign', yaml: 'spec: {verify: {provider: cosign}}' },
    { name: 'absent provider means cosign', yaml: 'spec: {verify: {secretRef: {name: k}}}' },
    {
      name: 'notation when allowed',
      yaml: 'spec: {verify: {provider: notation}}',
      policy: 'ociRepository: {allowedVerifyProviders: [cosign, notation]}',
    },
    { name: 'no verify block (another rule)', yaml: 'spec: {}' },
  ],
  invalid: [
    {
      name: 'notation by default',
      yaml: 'spec: {verify: {provider: notation, secretRef: {name: n}}}',
      paths: ['spec.verify.provider'],
      messageIncludes: ['notation'],
    },
    { name: 'unknown provider', yaml: 'spec: {verify: {provider: gpg}}', paths: ['spec.verify.provider'] },
    {
      name: 'cosign when only notation is allowed',
      yaml: 'spec: {verify: {provider: cosign}}',
      policy: 'ociRepository: {allowedVerifyProviders: [notation]}',
      paths: ['spec.verify.provider'],
    },
  ],
});
