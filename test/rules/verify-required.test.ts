import { ruleTester } from '../helpers/rule-tester.ts';

ruleTester('verify-required', {
  valid: [
    { name: 'keyless verify block', yaml: 'spec: {url: oci://ghcr.io/a/b, verify: {provider: cosign}}' },
    { name: 'verify: {} (Flux defaults the provider)', yaml: 'spec: {url: oci://ghcr.io/a/b, verify: {}}' },
    {
      name: 'policy does not require verify',
      yaml: 'spec: {url: oci://ghcr.io/a/b}',
      policy: 'ociRepository: {requireVerify: false}',
    },
    { name: 'a Bucket is not an OCIRepository', yaml: 'kind: Bucket\nspec: {ignore: "/*"}' },
  ],
  invalid: [
    { name: 'no verify', yaml: 'spec: {url: oci://ghcr.io/a/b}', paths: ['spec.verify'] },
    { name: 'verify is not an object', yaml: 'spec: {url: oci://ghcr.io/a/b, verify: "yes"}', paths: ['spec.verify'] },
    { name: 'no spec at all', yaml: 'metadata: {name: x}', paths: ['spec.verify'] },
    {
      name: 'v1beta2 is governed too',
      yaml: 'apiVersion: source.toolkit.fluxcd.io/v1beta2\nspec: {url: oci://ghcr.io/a/b}',
      paths: ['spec.verify'],
    },
  ],
});
