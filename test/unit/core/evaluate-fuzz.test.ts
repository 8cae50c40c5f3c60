// Admission bodies and CI files can hold anything: evaluate must never throw, whatever the shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluate } from '../../../src/core/evaluate.ts';
import { loadPolicy } from '../../../src/core/policy/index.ts';

const policy = loadPolicy(
  `apiVersion: pinwarden.dev/v1alpha1
kind: SourcePolicy
metadata: {name: fuzz}
spec:
  ociRepository:
    allowedIdentities: [{issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/'}]
    allowedRegistries: ['oci://ghcr.io/acme/']
`,
  'fuzz',
);

const anyValue = fc.jsonValue({ maxDepth: 3 });
const identity = fc.record(
  {
    issuer: fc.oneof(fc.string({ maxLength: 12 }), anyValue),
    subject: fc.oneof(fc.string({ maxLength: 12 }), anyValue),
  },
  { requiredKeys: [] },
);
const spec = fc.record(
  {
    url: fc.oneof(fc.constant('oci://ghcr.io/acme/app'), fc.string(), anyValue),
    ref: fc.oneof(
      fc.record(
        {
          tag: fc.oneof(fc.string(), anyValue),
          digest: fc.oneof(fc.string(), anyValue),
          semver: fc.oneof(fc.string(), anyValue),
        },
        { requiredKeys: [] },
      ),
      anyValue,
    ),
    verify: fc.oneof(
      fc.record(
        {
          provider: fc.oneof(fc.constantFrom('cosign', 'notation'), anyValue),
          secretRef: anyValue,
          matchOIDCIdentity: fc.oneof(fc.array(identity, { maxLength: 3 }), anyValue),
        },
        { requiredKeys: [] },
      ),
      anyValue,
    ),
    insecure: anyValue,
    ignore: fc.oneof(fc.string(), anyValue),
  },
  { requiredKeys: [] },
);
const object = fc.record(
  {
    apiVersion: fc.constantFrom('source.toolkit.fluxcd.io/v1', 'source.toolkit.fluxcd.io/v1beta2', 'v1', 42),
    kind: fc.constantFrom('OCIRepository', 'Bucket', 'ConfigMap', null),
    metadata: fc.oneof(
      fc.record(
        { name: fc.oneof(fc.string(), anyValue), namespace: fc.oneof(fc.string(), anyValue) },
        { requiredKeys: [] },
      ),
      anyValue,
    ),
    spec: fc.oneof(spec, anyValue),
  },
  { requiredKeys: [] },
);

test('evaluate never throws and always returns a verdict, for any object shape', () => {
  fc.assert(
    fc.property(
      fc.oneof(object, anyValue),
      fc.constantFrom<'admission' | 'offline'>('admission', 'offline'),
      (value, phase) => {
        const result = evaluate(value, policy, { phase });
        assert.ok(['allow', 'deny', 'warn'].includes(result.verdict));
        for (const finding of result.findings)
          assert.ok(finding.ruleId && finding.path && finding.message && finding.fix);
      },
    ),
    { numRuns: 400 },
  );
});
