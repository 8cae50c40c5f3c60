import { ruleTester } from '../helpers/rule-tester.ts';

const DIGEST = 'sha256:6ca1d018a562caa81bfee3c56c41d255b085bbdb30da79e09849559680df8675';

ruleTester('digest-required', {
  valid: [
    { name: 'digest at admission', yaml: `spec: {ref: {digest: "${DIGEST}"}}` },
    { name: 'tag plus digest (digest wins in Flux)', yaml: `spec: {ref: {tag: v1, digest: "${DIGEST}"}}` },
    { name: 'offline tag is pinnable by the mutating hook', yaml: 'spec: {ref: {tag: v1.2.3}}', phase: 'offline' },
    { name: 'offline implicit latest is pinnable', yaml: 'spec: {}', phase: 'offline' },
    {
      name: 'offline semver when semverToDigest is on',
      yaml: 'spec: {ref: {semver: ">=1.0.0"}}',
      phase: 'offline',
      policy: 'ociRepository: {mutate: {semverToDigest: true}}',
    },
    {
      name: 'policy does not require digests',
      yaml: 'spec: {ref: {tag: v1}}',
      policy: 'ociRepository: {requireDigest: false}',
    },
  ],
  invalid: [
    {
      name: 'tag at admission (pinning failed)',
      yaml: 'spec: {ref: {tag: v1}}',
      paths: ['spec.ref.digest'],
      messageIncludes: ['tag "v1"'],
    },
    {
      name: 'admission denial carries the pin failure',
      yaml: 'spec: {ref: {tag: v1}}',
      pinFailure: 'registry ghcr.io timed out after 2s',
      paths: ['spec.ref.digest'],
      messageIncludes: ['timed out'],
    },
    {
      name: 'no ref at admission means latest',
      yaml: 'spec: {}',
      paths: ['spec.ref.digest'],
      messageIncludes: ['latest'],
    },
    {
      name: 'offline semver when semverToDigest is off',
      yaml: 'spec: {ref: {semver: ">=1.0.0"}}',
      phase: 'offline',
      paths: ['spec.ref.digest'],
      messageIncludes: ['semverToDigest'],
    },
    {
      name: 'offline tag when tagToDigest is off',
      yaml: 'spec: {ref: {tag: v1}}',
      phase: 'offline',
      policy: 'ociRepository: {mutate: {tagToDigest: false}}',
      paths: ['spec.ref.digest'],
    },
    {
      name: 'placeholder digest',
      yaml: 'spec: {ref: {digest: "sha256:<SHA-value>"}}',
      phase: 'offline',
      paths: ['spec.ref.digest'],
    },
    {
      name: 'uppercase hex digest',
      yaml: `spec: {ref: {digest: "${DIGEST.toUpperCase()}"}}`,
      paths: ['spec.ref.digest'],
    },
    {
      name: 'tag@digest inside ref.tag',
      yaml: `spec: {ref: {tag: "6.6.2@${DIGEST}"}}`,
      phase: 'offline',
      paths: ['spec.ref.tag'],
      messageIncludes: ['1471'],
    },
    {
      name: 'tag with illegal characters',
      yaml: 'spec: {ref: {tag: "v1 beta"}}',
      phase: 'offline',
      paths: ['spec.ref.tag'],
    },
  ],
});
