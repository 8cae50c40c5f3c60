import { ruleTester } from '../helpers/rule-tester.ts';

ruleTester('insecure-not-allowed', {
  valid: [
    { name: 'secure by default', yaml: 'spec: {url: oci://ghcr.io/a/b}' },
    { name: 'insecure: false', yaml: 'spec: {insecure: false}' },
    { name: 'insecure "true" as a string is not the boolean Flux reads', yaml: 'spec: {insecure: "true"}' },
    { name: 'allowed by policy', yaml: 'spec: {insecure: true}', policy: 'ociRepository: {allowInsecure: true}' },
  ],
  invalid: [{ name: 'insecure: true', yaml: 'spec: {insecure: true}', paths: ['spec.insecure'] }],
});
