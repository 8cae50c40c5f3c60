import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { PinwardenError } from '../../../../src/core/errors.ts';
import { applyPatch, planPin } from '../../../../src/core/mutation/index.ts';
import type { PatchOp, Resolution } from '../../../../src/core/mutation/index.ts';
import { policyFrom } from '../../../helpers/rule-tester.ts';

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
const NOW = new Date('2026-03-01T12:34:56.789Z');
const AT = '2026-03-01T12:34:56Z';
const OK: Resolution = { ok: true, digest: D1, tag: 'v1.4.0' };
const FROM = '/metadata/annotations/pinwarden.dev~1pinned-from';
const PINNED_AT = '/metadata/annotations/pinwarden.dev~1pinned-at';

function oci(specYaml: string, metadataYaml = '{name: app, namespace: apps}'): Record<string, unknown> {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: parse(metadataYaml),
    spec: { interval: '5m', url: 'oci://ghcr.io/acme/app', ...(parse(specYaml) as object) },
  };
}

interface Case {
  name: string;
  object: unknown;
  old?: unknown;
  resolution?: Resolution;
  policy?: string;
  action: 'none' | 'reuse' | 'resolve';
  patch: PatchOp[];
}

const CASES: Case[] = [
  {
    name: 'tag: digest added next to the tag, annotations created',
    object: oci('ref: {tag: v1.4.0}'),
    resolution: OK,
    action: 'resolve',
    patch: [
      { op: 'add', path: '/spec/ref/digest', value: D1 },
      {
        op: 'add',
        path: '/metadata/annotations',
        value: { 'pinwarden.dev/pinned-from': 'tag:v1.4.0', 'pinwarden.dev/pinned-at': AT },
      },
    ],
  },
  {
    name: 'no ref: Flux means latest; ref added whole',
    object: oci('{}'),
    resolution: { ok: true, digest: D1, tag: 'latest' },
    action: 'resolve',
    patch: [
      { op: 'add', path: '/spec/ref', value: { digest: D1 } },
      {
        op: 'add',
        path: '/metadata/annotations',
        value: { 'pinwarden.dev/pinned-from': 'tag:latest', 'pinwarden.dev/pinned-at': AT },
      },
    ],
  },
  {
    name: 'ref without tag means latest',
    object: oci('ref: {}'),
    resolution: { ok: true, digest: D1, tag: 'latest' },
    action: 'resolve',
    patch: [
      { op: 'add', path: '/spec/ref/digest', value: D1 },
      {
        op: 'add',
        path: '/metadata/annotations',
        value: { 'pinwarden.dev/pinned-from': 'tag:latest', 'pinwarden.dev/pinned-at': AT },
      },
    ],
  },
  {
    name: 'existing annotations: one escaped op per key',
    object: oci('ref: {tag: v1.4.0}', '{name: app, namespace: apps, annotations: {team: a}}'),
    resolution: OK,
    action: 'resolve',
    patch: [
      { op: 'add', path: '/spec/ref/digest', value: D1 },
      { op: 'add', path: FROM, value: 'tag:v1.4.0' },
      { op: 'add', path: PINNED_AT, value: AT },
    ],
  },
  {
    name: 'semver with semverToDigest on: highest tag recorded',
    object: oci('ref: {semver: ">=1.0.0"}'),
    resolution: { ok: true, digest: D1, tag: 'v1.4.2' },
    policy: 'ociRepository: {mutate: {semverToDigest: true}}',
    action: 'resolve',
    patch: [
      { op: 'add', path: '/spec/ref/digest', value: D1 },
      {
        op: 'add',
        path: '/metadata/annotations',
        value: { 'pinwarden.dev/pinned-from': 'semver:>=1.0.0 → v1.4.2', 'pinwarden.dev/pinned-at': AT },
      },
    ],
  },
  {
    name: 'semver with semverToDigest off (default): no patch',
    object: oci('ref: {semver: ">=1.0.0"}'),
    resolution: OK,
    action: 'none',
    patch: [],
  },
  {
    name: 'tag with tagToDigest off: no patch',
    object: oci('ref: {tag: v1}'),
    resolution: OK,
    policy: 'ociRepository: {mutate: {tagToDigest: false}}',
    action: 'none',
    patch: [],
  },
  {
    name: 'already pinned: no patch',
    object: oci(`ref: {tag: v1, digest: "${D2}"}`),
    resolution: OK,
    action: 'none',
    patch: [],
  },
  {
    name: 'exempt namespace: no patch',
    object: oci('ref: {tag: v1}', '{name: a, namespace: sandbox}'),
    resolution: OK,
    policy: 'exemptNamespaces: [sandbox]',
    action: 'none',
    patch: [],
  },
  {
    name: 'Bucket is not pinned',
    object: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'Bucket', metadata: { name: 'b' }, spec: {} },
    resolution: OK,
    action: 'none',
    patch: [],
  },
  {
    name: 'other kinds are not pinned',
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
    resolution: OK,
    action: 'none',
    patch: [],
  },
  {
    name: 'missing url: no patch',
    object: {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'x' },
      spec: { ref: { tag: 'v1' } },
    },
    resolution: OK,
    action: 'none',
    patch: [],
  },
  {
    name: 'tag@digest in ref.tag is left to validation',
    object: oci(`ref: {tag: "v1@${D1}"}`),
    resolution: OK,
    action: 'none',
    patch: [],
  },
  {
    name: 'resolution failed: no patch (fail-open)',
    object: oci('ref: {tag: v1}'),
    resolution: { ok: false, error: new PinwardenError('PW_DEADLINE', 'HEAD timed out after 2s') },
    action: 'resolve',
    patch: [],
  },
  {
    name: 'non-sha256 digest from the registry is not pinned',
    object: oci('ref: {tag: v1}'),
    resolution: { ok: true, digest: `sha512:${'a'.repeat(128)}`, tag: 'v1' },
    action: 'resolve',
    patch: [],
  },
  {
    name: 'sticky UPDATE, same tag: old digest and annotations reused, no resolve',
    object: oci('ref: {tag: v1}'),
    old: oci(
      `ref: {tag: v1, digest: "${D2}"}`,
      '{name: app, namespace: apps, annotations: {pinwarden.dev/pinned-from: "tag:v1", pinwarden.dev/pinned-at: "2025-01-01T00:00:00Z"}}',
    ),
    action: 'reuse',
    patch: [
      { op: 'add', path: '/spec/ref/digest', value: D2 },
      {
        op: 'add',
        path: '/metadata/annotations',
        value: { 'pinwarden.dev/pinned-from': 'tag:v1', 'pinwarden.dev/pinned-at': '2025-01-01T00:00:00Z' },
      },
    ],
  },
  {
    name: 'sticky UPDATE, implicit latest on both sides',
    object: oci('{}'),
    old: oci(`ref: {digest: "${D2}"}`),
    action: 'reuse',
    patch: [
      { op: 'add', path: '/spec/ref', value: { digest: D2 } },
      { op: 'add', path: '/metadata/annotations', value: { 'pinwarden.dev/pinned-from': 'tag:latest' } },
    ],
  },
  {
    name: 'sticky UPDATE, tag changed: resolved again',
    object: oci('ref: {tag: v2}'),
    old: oci(`ref: {tag: v1, digest: "${D2}"}`),
    resolution: { ok: true, digest: D1, tag: 'v2' },
    action: 'resolve',
    patch: [
      { op: 'add', path: '/spec/ref/digest', value: D1 },
      {
        op: 'add',
        path: '/metadata/annotations',
        value: { 'pinwarden.dev/pinned-from': 'tag:v2', 'pinwarden.dev/pinned-at': AT },
      },
    ],
  },
  {
    name: 'sticky UPDATE, url changed: resolved again',
    object: oci('ref: {tag: v1}'),
    old: {
      ...oci(`ref: {tag: v1, digest: "${D2}"}`),
      spec: { url: 'oci://ghcr.io/acme/other', ref: { tag: 'v1', digest: D2 } },
    },
    resolution: OK,
    action: 'resolve',
    patch: [
      { op: 'add', path: '/spec/ref/digest', value: D1 },
      {
        op: 'add',
        path: '/metadata/annotations',
        value: { 'pinwarden.dev/pinned-from': 'tag:v1', 'pinwarden.dev/pinned-at': AT },
      },
    ],
  },
  {
    name: 'follow UPDATE, same tag: resolved again',
    object: oci('ref: {tag: v1}'),
    old: oci(`ref: {tag: v1, digest: "${D2}"}`),
    resolution: OK,
    policy: 'ociRepository: {pinning: follow}',
    action: 'resolve',
    patch: [
      { op: 'add', path: '/spec/ref/digest', value: D1 },
      {
        op: 'add',
        path: '/metadata/annotations',
        value: { 'pinwarden.dev/pinned-from': 'tag:v1', 'pinwarden.dev/pinned-at': AT },
      },
    ],
  },
  {
    name: 'stale pin kept by client-side apply (tag changed, digest and annotation left over): replaced',
    object: oci(
      `ref: {tag: v2, digest: "${D2}"}`,
      '{name: app, namespace: apps, annotations: {pinwarden.dev/pinned-from: "tag:v1", pinwarden.dev/pinned-at: "2025-01-01T00:00:00Z"}}',
    ),
    resolution: { ok: true, digest: D1, tag: 'v2' },
    action: 'resolve',
    patch: [
      { op: 'replace', path: '/spec/ref/digest', value: D1 },
      { op: 'replace', path: FROM, value: 'tag:v2' },
      { op: 'replace', path: PINNED_AT, value: AT },
    ],
  },
  {
    name: 'annotation key with ~ is escaped as ~0 (other annotations untouched)',
    object: oci('ref: {tag: v1.4.0}', '{name: app, namespace: apps, annotations: {"a~b/c": x}}'),
    resolution: OK,
    action: 'resolve',
    patch: [
      { op: 'add', path: '/spec/ref/digest', value: D1 },
      { op: 'add', path: FROM, value: 'tag:v1.4.0' },
      { op: 'add', path: PINNED_AT, value: AT },
    ],
  },
  {
    name: 'null ref and null annotations are replaced by add',
    object: oci('ref: null', '{name: app, namespace: apps, annotations: null}'),
    resolution: { ok: true, digest: D1, tag: 'latest' },
    action: 'resolve',
    patch: [
      { op: 'add', path: '/spec/ref', value: { digest: D1 } },
      {
        op: 'add',
        path: '/metadata/annotations',
        value: { 'pinwarden.dev/pinned-from': 'tag:latest', 'pinwarden.dev/pinned-at': AT },
      },
    ],
  },
];

for (const c of CASES) {
  test(`planPin: ${c.name}`, () => {
    const policy = policyFrom(c.policy);
    const plan = planPin(c.object, c.old, c.resolution, policy, NOW);
    assert.equal(plan.intent.action, c.action);
    assert.deepEqual(plan.patch, c.patch);
    if (plan.patch.length === 0) return;
    // Idempotent: a second pass over the patched object (same oldObject, any resolution) plans nothing.
    const patched = applyPatch(c.object, plan.patch);
    const second = planPin(patched, c.old, { ok: true, digest: D2, tag: 'other' }, policy, new Date());
    assert.deepEqual(second.patch, []);
    assert.equal(second.intent.action, 'none');
  });
}

test('planPin: a failed resolution reports the error code for validation and a warning', () => {
  const error = new PinwardenError('PW_REGISTRY_UNREACHABLE', 'connect ECONNREFUSED');
  const plan = planPin(oci('ref: {tag: v1}'), undefined, { ok: false, error }, policyFrom(), NOW);
  assert.equal(plan.failure?.code, 'PW_REGISTRY_UNREACHABLE');
  assert.equal(plan.warnings.length, 1);
  assert.match(plan.warnings[0] ?? '', /PW_REGISTRY_UNREACHABLE/);
});

test('planPin: the patch never rewrites unknown fields', () => {
  const object = {
    ...oci('ref: {tag: v1}'),
    spec: { url: 'oci://ghcr.io/acme/app', ref: { tag: 'v1' }, futureField: { x: 1 } },
    status: { a: 1 },
  };
  const plan = planPin(object, undefined, OK, policyFrom(), NOW);
  const patched = applyPatch<typeof object>(object, plan.patch);
  assert.deepEqual(patched.spec.futureField, { x: 1 });
  assert.deepEqual(patched.status, { a: 1 });
  assert.ok(plan.patch.every((op) => op.path.startsWith('/spec/ref') || op.path.startsWith('/metadata/annotations')));
});

test('planPin: a pinned digest whose annotation matches is left alone even when pinning is off', () => {
  const object = oci(
    `ref: {tag: v2, digest: "${D2}"}`,
    '{name: app, namespace: apps, annotations: {pinwarden.dev/pinned-from: "tag:v1"}}',
  );
  const plan = planPin(object, undefined, OK, policyFrom('ociRepository: {mutate: {tagToDigest: false}}'), NOW);
  assert.deepEqual(plan.patch, []);
  assert.equal(plan.warnings.length, 1, 'the stale pin is reported');
});
