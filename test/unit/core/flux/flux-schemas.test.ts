// The shipped schemas are derived, not edited: re-deriving them from the Flux CRDs (read in place from
// ../shared/data/flux/crds) must give the committed file byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SCHEMA_FILE, renderSchemas } from '../../../../scripts/flux-schemas.ts';
import { schemaFindings, schemaKeys } from '../../../../src/core/flux/index.ts';

test('flux-source-schemas.json is exactly what scripts/flux-schemas.ts derives from the CRDs', () => {
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), renderSchemas(), 'run: node scripts/flux-schemas.ts');
});

test('it holds the governed kinds and versions, and no prose', () => {
  assert.deepEqual(
    schemaKeys().sort(),
    [
      'source.toolkit.fluxcd.io/v1beta2|Bucket',
      'source.toolkit.fluxcd.io/v1beta2|OCIRepository',
      'source.toolkit.fluxcd.io/v1|Bucket',
      'source.toolkit.fluxcd.io/v1|OCIRepository',
    ].sort(),
  );
  assert.doesNotMatch(readFileSync(SCHEMA_FILE, 'utf8'), /"description":"/);
});

test('schema findings: required, enum and pattern, with field paths; unknown versions have no schema', () => {
  const findings = schemaFindings({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'x' },
    spec: { interval: '5 minutes', provider: 'nope', url: 'https://x', ref: { tag: 'v1' } },
  });
  assert.deepEqual(findings?.map((finding) => finding.path).sort(), ['spec.interval', 'spec.provider', 'spec.url']);
  assert.ok(findings?.every((finding) => finding.ruleId === 'schema-invalid'));
  assert.deepEqual(
    schemaFindings({
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'x' },
      spec: { interval: '1m30s', url: 'oci://ghcr.io/a/b' },
    }),
    [],
  );
  assert.equal(schemaFindings({ apiVersion: 'source.toolkit.fluxcd.io/v1beta1', kind: 'Bucket', spec: {} }), undefined);
  const nested = schemaFindings({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'x' },
    spec: { interval: '1m', url: 'oci://a/b', verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer: 'x' }] } },
  });
  assert.deepEqual(
    nested?.map((finding) => finding.path),
    ['spec.verify.matchOIDCIdentity[0].subject'],
  );
});

test('pattern results stay right when values repeat and when more values than the memo holds are seen', () => {
  const intervalOf = (interval: string) =>
    schemaFindings({
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'x' },
      spec: { interval, url: 'oci://ghcr.io/a/b' },
    })?.map((finding) => finding.path);
  for (let round = 0; round < 2; round += 1) {
    for (let index = 0; index < 600; index += 1) {
      assert.deepEqual(intervalOf(`${index}m`), [], `${index}m, round ${round}`);
      assert.deepEqual(intervalOf(`${index} minutes`), ['spec.interval'], `${index} minutes, round ${round}`);
    }
  }
  assert.deepEqual(intervalOf(`${'1'.repeat(100)}s`), []);
  assert.deepEqual(intervalOf(`${'1'.repeat(100)}x`), ['spec.interval']);
});
