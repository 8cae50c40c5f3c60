import { ruleTester } from '../helpers/rule-tester.ts';

ruleTester('keyless-identity-required', {
  valid: [
    { name: 'key-based', yaml: 'spec: {verify: {provider: cosign, secretRef: {name: k}}}' },
    { name: 'notation', yaml: 'spec: {verify: {provider: notation}}' },
    {
      name: 'keyless with one identity',
      yaml: 'spec: {verify: {matchOIDCIdentity: [{issuer: "^a$", subject: "^b$"}]}}',
    },
    {
      name: 'secretRef with an empty name is not a key',
      yaml: 'spec: {verify: {secretRef: {name: ""}, matchOIDCIdentity: [{issuer: "^a$", subject: "^b$"}]}}',
    },
  ],
  invalid: [
    {
      name: 'verify: {} is keyless cosign that accepts any identity',
      yaml: 'spec: {verify: {}}',
      paths: ['spec.verify.matchOIDCIdentity'],
    },
    {
      name: 'explicit cosign without identities',
      yaml: 'spec: {verify: {provider: cosign}}',
      paths: ['spec.verify.matchOIDCIdentity'],
    },
    {
      name: 'empty identity list',
      yaml: 'spec: {verify: {provider: cosign, matchOIDCIdentity: []}}',
      paths: ['spec.verify.matchOIDCIdentity'],
    },
    {
      name: 'identity list of the wrong type',
      yaml: 'spec: {verify: {provider: cosign, matchOIDCIdentity: "x"}}',
      paths: ['spec.verify.matchOIDCIdentity'],
    },
  ],
});
