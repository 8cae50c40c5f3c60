import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, ruleTester } from '../helpers/rule-tester.ts';

const D1 = `sha256:${'1'.repeat(64)}`;
const pinned = (ref: string, from: string) =>
  `metadata: {name: app, namespace: apps, annotations: {pinwarden.dev/pinned-from: ${JSON.stringify(from)}}}\nspec: {ref: ${ref}}`;

ruleTester('pinned-from-mismatch', {
  valid: [
    { name: 'pinned from the tag spec.ref names', yaml: pinned(`{tag: "1.0.0", digest: "${D1}"}`, 'tag:1.0.0') },
    {
      name: 'pinned from the range spec.ref names (the chosen tag after the arrow is ignored)',
      yaml: pinned(`{semver: ">=1.0.0", digest: "${D1}"}`, 'semver:>=1.0.0 → 1.4.2'),
    },
    {
      name: 'range and filter unchanged',
      yaml: pinned(`{semver: ">=1.0.0", semverFilter: "^v", digest: "${D1}"}`, 'semver:>=1.0.0 filter:^v → v1.4.2'),
    },
    {
      name: 'no ref: the implicit latest was pinned',
      yaml: `metadata: {name: app, namespace: apps, annotations: {pinwarden.dev/pinned-from: "tag:latest"}}\nspec: {ref: {digest: "${D1}"}}`,
    },
    { name: 'a digest the author set, no annotation', yaml: `spec: {ref: {tag: "2.0.0", digest: "${D1}"}}` },
    { name: 'no digest: digest-required judges that, not this rule', yaml: pinned('{tag: "2.0.0"}', 'tag:1.0.0') },
    {
      name: 'a non-string annotation is not a record of a pin',
      yaml: `metadata: {name: app, namespace: apps, annotations: {pinwarden.dev/pinned-from: 7}}\nspec: {ref: {tag: "2.0.0", digest: "${D1}"}}`,
    },
  ],
  invalid: [
    {
      name: 'another webhook moved the tag after the pin',
      yaml: pinned(`{tag: "2.0.0", digest: "${D1}"}`, 'tag:1.0.0'),
      paths: ['spec.ref.digest'],
      messageIncludes: ['stale pin', '"tag:1.0.0"', '"tag:2.0.0"', '[PW_PIN_STALE]'],
    },
    {
      name: 'the semver range changed',
      yaml: pinned(`{semver: ">=2.0.0", digest: "${D1}"}`, 'semver:>=1.0.0 → 1.4.2'),
      paths: ['spec.ref.digest'],
      messageIncludes: ['"semver:>=1.0.0"', '"semver:>=2.0.0"'],
    },
    {
      name: 'only the semverFilter changed',
      yaml: pinned(`{semver: ">=1.0.0", semverFilter: "^rc", digest: "${D1}"}`, 'semver:>=1.0.0 filter:^v → v1.4.2'),
      paths: ['spec.ref.digest'],
      messageIncludes: ['filter:^rc'],
    },
    {
      name: 'a tag became a semver range',
      yaml: pinned(`{tag: "1.0.0", semver: ">=1.0.0", digest: "${D1}"}`, 'tag:1.0.0'),
      paths: ['spec.ref.digest'],
    },
    {
      name: 'the tag was removed: the implicit latest is another ref',
      yaml: pinned(`{digest: "${D1}"}`, 'tag:1.0.0'),
      paths: ['spec.ref.digest'],
      messageIncludes: ['"tag:latest"'],
    },
    {
      name: 'a tenant-written annotation is quoted, escaped and cut',
      yaml: pinned(`{tag: "2.0.0", digest: "${D1}"}`, `tag:${'x'.repeat(5000)}"\n`),
      paths: ['spec.ref.digest'],
      messageIncludes: ['…"'],
    },
    {
      name: 'offline check applies the same rule',
      yaml: pinned(`{tag: "2.0.0", digest: "${D1}"}`, 'tag:1.0.0'),
      phase: 'offline',
      paths: ['spec.ref.digest'],
    },
    {
      name: 'warn mode policy: a warning',
      yaml: pinned(`{tag: "2.0.0", digest: "${D1}"}`, 'tag:1.0.0'),
      policy: 'mode: warn',
      paths: ['spec.ref.digest'],
      severity: 'warning',
    },
  ],
});

test('the quoted annotation is bounded: a 5000-character value yields a message under 600 characters', () => {
  const [finding] = findingsOf('pinned-from-mismatch', {
    name: 'long',
    yaml: pinned(`{tag: "2.0.0", digest: "${D1}"}`, `tag:${'x'.repeat(5000)}`),
  });
  assert.ok(finding && finding.message.length < 600, finding?.message.length.toString());
});
