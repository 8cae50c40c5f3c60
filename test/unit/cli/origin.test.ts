import { test } from 'node:test';
import assert from 'node:assert/strict';
import { originOf } from '../../../src/cli/input/origin.ts';

const withAnnotations = (annotations: Record<string, unknown>) => ({
  kind: 'OCIRepository',
  metadata: { name: 'a', annotations },
});

test('kustomize origin annotations name a local file; remote origins and junk do not', () => {
  assert.deepEqual(originOf(withAnnotations({ 'config.kubernetes.io/origin': 'path: ../../base/oci.yaml\n' })), {
    path: '../../base/oci.yaml',
  });
  assert.equal(
    originOf(
      withAnnotations({
        'config.kubernetes.io/origin': 'path: oci.yaml\nrepo: https://github.com/acme/fleet\nref: main\n',
      }),
    ),
    undefined,
  );
  assert.equal(
    originOf(
      withAnnotations({
        'config.kubernetes.io/origin': 'configuredIn: kustomization.yaml\nconfiguredBy: {kind: ConfigMapGenerator}\n',
      }),
    ),
    undefined,
  );
  assert.equal(originOf(withAnnotations({ 'config.kubernetes.io/origin': '[unclosed' })), undefined);
  assert.equal(
    originOf(withAnnotations({ 'config.kubernetes.io/origin': `path: ${'a'.repeat(5000)}` })),
    undefined,
    'oversized annotations are ignored',
  );
  assert.equal(originOf({ kind: 'X' }), undefined);
});

test('kpt / KRM path and index annotations', () => {
  assert.deepEqual(
    originOf(
      withAnnotations({ 'internal.config.kubernetes.io/path': 'a/b.yaml', 'internal.config.kubernetes.io/index': '2' }),
    ),
    { path: 'a/b.yaml', index: 2 },
  );
  assert.deepEqual(
    originOf(withAnnotations({ 'config.kubernetes.io/path': 'c.yaml', 'config.kubernetes.io/index': 'x' })),
    { path: 'c.yaml' },
  );
});
