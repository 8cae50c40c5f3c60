// Each example must still validate against the real Flux CRD schema: the plumbing /mutate will need.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CrdSchemas } from '../../../../src/core/flux/index.ts';
import { FLUX_EXAMPLES, crdFiles, exampleFiles, readYamlObjects } from '../../../helpers/flux-data.ts';

const schemas = new CrdSchemas();
const loaded = crdFiles().flatMap((file) => readYamlObjects(file).flatMap((crd) => schemas.add(crd)));

/** Docs fragments lack required fields on purpose (examples/README.md marks them FRAGMENT). */
const FRAGMENTS = new Set([
  'ocirepo-12-docs-digest-fragment.yaml',
  'ocirepo-13-docs-ignore-fragment.yaml',
  'bucket-12-docs-ignore-fragment.yaml',
]);
/** kustomize.toolkit.fluxcd.io/v1beta2 was removed; no CRD in the shared data serves it. */
const UNSERVED = new Set(['ks-03-web-v1beta2-retry-patches.yaml', 'ks-07-local-dev-oci-dependson.yaml']);

test('the CRDs load every served version, v1beta2 from the v1.7.4 copies', () => {
  for (const key of [
    'source.toolkit.fluxcd.io/v1|OCIRepository',
    'source.toolkit.fluxcd.io/v1beta2|OCIRepository',
    'source.toolkit.fluxcd.io/v1|Bucket',
    'source.toolkit.fluxcd.io/v1beta2|Bucket',
    'kustomize.toolkit.fluxcd.io/v1|Kustomization',
  ]) {
    assert.ok(loaded.includes(key), key);
  }
});

for (const name of exampleFiles()) {
  test(`CRD schema: ${name}`, () => {
    const [object] = readYamlObjects(join(FLUX_EXAMPLES, name));
    const check = schemas.validate(object);
    if (UNSERVED.has(name)) {
      assert.equal(check.known, false);
      return;
    }
    assert.equal(check.known, true);
    if (FRAGMENTS.has(name)) {
      assert.equal(check.valid, false);
      assert.ok(
        check.errors.some((error) => error.includes('required')),
        check.errors.join('; '),
      );
    } else {
      assert.deepEqual(check.errors, []);
      assert.equal(check.valid, true);
    }
  });
}

test('a type error is caught by the schema', () => {
  const check = schemas.validate({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'x' },
    spec: { url: 'https://not-oci', interval: '1m' },
  });
  assert.equal(check.valid, false);
  assert.ok(check.errors.some((error) => error.includes('/spec/url')));
});
