import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notGovernedReason } from '../../../../src/core/flux/index.ts';

test('flux-operator objects that generate sources are notable; others are not', () => {
  const rset = (spec: object) =>
    notGovernedReason({ apiVersion: 'fluxcd.controlplane.io/v1', kind: 'ResourceSet', spec });
  assert.equal(
    rset({ resources: [{ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'OCIRepository' }] }).notable,
    true,
  );
  assert.equal(rset({ resourcesTemplate: '---\n  - kind: "Bucket"\n' }).notable, true);
  assert.match(
    rset({ resourcesTemplate: 'kind: Bucket\n---\nkind: OCIRepository\n' }).reason,
    /generates Bucket and OCIRepository objects/,
  );
  assert.equal(rset({ resourcesTemplate: 'kind: OCIRepositoryList\nname: kind: OCIRepository' }).notable, false);
  assert.equal(
    notGovernedReason({
      apiVersion: 'fluxcd.controlplane.io/v1',
      kind: 'FluxInstance',
      spec: { sync: { kind: 'GitRepository' } },
    }).notable,
    false,
  );
  assert.equal(
    notGovernedReason({
      apiVersion: 'fluxcd.controlplane.io/v1',
      kind: 'FluxInstance',
      spec: { sync: { kind: 'OCIRepository' } },
    }).notable,
    true,
  );
});

test('source kinds and versions pinwarden does not govern are notable, with a reason naming them', () => {
  assert.match(
    notGovernedReason({ apiVersion: 'source.toolkit.fluxcd.io/v1beta1', kind: 'OCIRepository' }).reason,
    /OCIRepository source\.toolkit\.fluxcd\.io\/v1beta1 is not governed/,
  );
  assert.match(
    notGovernedReason({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'HelmRepository', spec: { type: 'oci' } })
      .reason,
    /type oci/,
  );
  assert.match(
    notGovernedReason({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'HelmChart' }).reason,
    /HelmChart is not a source pinwarden governs/,
  );
  assert.deepEqual(notGovernedReason({ apiVersion: 'v1', kind: 'ConfigMap' }), {
    notable: false,
    reason: 'not a Flux source',
  });
  assert.deepEqual(notGovernedReason('just a string'), { notable: false, reason: 'no kind: not a Kubernetes object' });
});
