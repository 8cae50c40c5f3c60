// The patch on every shared Flux OCIRepository example keeps the object valid for the real CRD schema
// (v1 and v1beta2), and a second pass plans nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CrdSchemas } from '../../../../src/core/flux/index.ts';
import { applyPatch, planPin } from '../../../../src/core/mutation/index.ts';
import { FLUX_EXAMPLES, crdFiles, exampleFiles, readYamlObjects } from '../../../helpers/flux-data.ts';
import { policyFrom } from '../../../helpers/rule-tester.ts';

const schemas = new CrdSchemas();
for (const file of crdFiles()) for (const crd of readYamlObjects(file)) schemas.add(crd);
const DIGEST = `sha256:${'d'.repeat(64)}`;
const policy = policyFrom('ociRepository: {mutate: {semverToDigest: true}}');
const FRAGMENTS = new Set(['ocirepo-12-docs-digest-fragment.yaml', 'ocirepo-13-docs-ignore-fragment.yaml']);

for (const name of exampleFiles().filter((file) => file.startsWith('ocirepo-') && !FRAGMENTS.has(file))) {
  test(`mutation keeps ${name} schema-valid`, () => {
    const [object] = readYamlObjects(join(FLUX_EXAMPLES, name));
    const plan = planPin(
      object,
      undefined,
      { ok: true, digest: DIGEST, tag: 'v9.9.9' },
      policy,
      new Date('2026-03-01T00:00:00Z'),
    );
    const patched = applyPatch(object, plan.patch);
    const check = schemas.validate(patched);
    assert.equal(check.known, true);
    assert.deepEqual(check.errors, []);
    if (plan.intent.action === 'resolve')
      assert.equal((patched as { spec: { ref: { digest: string } } }).spec.ref.digest, DIGEST);
    assert.deepEqual(
      planPin(patched, undefined, { ok: true, digest: `sha256:${'e'.repeat(64)}`, tag: 'x' }, policy, new Date()).patch,
      [],
    );
  });
}
