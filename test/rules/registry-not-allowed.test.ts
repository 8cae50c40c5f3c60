import { ruleTester } from '../helpers/rule-tester.ts';

const policy = "ociRepository: {allowedRegistries: ['oci://ghcr.io/acme/', 'oci://registry.example.com']}";

ruleTester('registry-not-allowed', {
  valid: [
    { name: 'any registry when the list is empty', yaml: 'spec: {url: oci://evil.example/x}' },
    { name: 'under an allowed prefix', yaml: 'spec: {url: oci://ghcr.io/acme/app}', policy },
    { name: 'nested path', yaml: 'spec: {url: oci://ghcr.io/acme/team/app}', policy },
    { name: 'the prefix itself', yaml: 'spec: {url: oci://ghcr.io/acme}', policy },
    { name: 'host-only prefix', yaml: 'spec: {url: oci://registry.example.com/x/y}', policy },
    { name: 'host case does not matter', yaml: 'spec: {url: oci://GHCR.io/acme/app}', policy },
  ],
  invalid: [
    {
      name: 'sibling org sharing a prefix string',
      yaml: 'spec: {url: oci://ghcr.io/acmeevil/app}',
      policy,
      paths: ['spec.url'],
    },
    { name: 'other host', yaml: 'spec: {url: oci://docker.io/acme/app}', policy, paths: ['spec.url'] },
    {
      name: 'host suffix attack',
      yaml: 'spec: {url: oci://registry.example.com.evil.io/x}',
      policy,
      paths: ['spec.url'],
    },
    {
      name: 'port makes another registry',
      yaml: 'spec: {url: "oci://registry.example.com:5000/x"}',
      policy,
      paths: ['spec.url'],
    },
    { name: 'path case matters', yaml: 'spec: {url: oci://ghcr.io/ACME/app}', policy, paths: ['spec.url'] },
    { name: 'missing url', yaml: 'spec: {}', policy, paths: ['spec.url'] },
  ],
});
