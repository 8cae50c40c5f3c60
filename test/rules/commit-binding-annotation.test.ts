import { ruleTester } from '../helpers/rule-tester.ts';

const annotated = (value: string) =>
  `metadata: {name: app, namespace: apps, annotations: {pinwarden.dev/commit-binding: ${value}}}\nspec: {url: oci://ghcr.io/a/b}`;
const VERIFYING = 'ociRepository: {verifyAtAdmission: true}';

ruleTester('commit-binding-annotation', {
  valid: [
    { name: 'no annotation', yaml: 'spec: {url: oci://ghcr.io/a/b}' },
    { name: 'enforce where pinwarden verifies', yaml: annotated('enforce'), policy: VERIFYING },
    { name: 'warn equals the default policy', yaml: annotated('warn'), policy: VERIFYING },
    {
      name: 'pinned where the policy does not require it',
      yaml: `metadata: {name: app, namespace: apps, annotations: {pinwarden.dev/commit-binding: enforce}}\nspec: {url: oci://ghcr.io/a/b, ref: {digest: "sha256:${'a'.repeat(64)}"}}`,
      policy: 'ociRepository: {verifyAtAdmission: true, requireDigest: false}',
    },
    {
      name: 'off under a policy that is off asks for nothing',
      yaml: annotated('off'),
      policy: 'ociRepository: {commitBinding: off}',
    },
  ],
  invalid: [
    {
      name: 'enforce, but the policy never verifies at admission',
      yaml: annotated('enforce'),
      paths: ['metadata.annotations.pinwarden.dev/commit-binding'],
      severity: 'warning',
      messageIncludes: ['commit binding enforce is asked for, but this policy does not verify signatures at admission'],
    },
    {
      name: 'unpinned, and the policy does not require a digest',
      yaml: annotated('enforce'),
      policy: 'ociRepository: {verifyAtAdmission: true, requireDigest: false}',
      paths: ['metadata.annotations.pinwarden.dev/commit-binding'],
      severity: 'warning',
      messageIncludes: ['this object is not pinned to a digest and the policy does not require one'],
    },
    {
      name: 'a value that is not a mode',
      yaml: annotated('strict'),
      policy: VERIFYING,
      paths: ['metadata.annotations.pinwarden.dev/commit-binding'],
      severity: 'warning',
      messageIncludes: ['"strict" is not off, warn or enforce; the policy\'s warn applies'],
    },
    {
      name: 'off cannot loosen the policy',
      yaml: annotated('off'),
      policy: 'ociRepository: {verifyAtAdmission: true, commitBinding: enforce}',
      paths: ['metadata.annotations.pinwarden.dev/commit-binding'],
      severity: 'warning',
      messageIncludes: ["off cannot loosen the policy's enforce"],
    },
    {
      name: 'not a string',
      yaml: annotated('{a: 1}'),
      policy: VERIFYING,
      paths: ['metadata.annotations.pinwarden.dev/commit-binding'],
      severity: 'warning',
      messageIncludes: ['object is not off, warn or enforce'],
    },
  ],
});
