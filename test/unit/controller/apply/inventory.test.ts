import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeId, encodeId, inventoryEntry, staleEntries } from '../../../../src/controller/apply/index.ts';

test('inventory ids are <ns>_<name>_<group>_<kind> as kustomize-controller writes them', () => {
  assert.deepEqual(
    inventoryEntry({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'podinfo', namespace: 'default' } }),
    { id: 'default_podinfo__Service', v: 'v1' },
  );
  assert.deepEqual(inventoryEntry({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'test' } }), {
    id: '_test__Namespace',
    v: 'v1',
  });
  assert.deepEqual(
    inventoryEntry({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'podinfo', namespace: 'default' } }),
    { id: 'default_podinfo_apps_Deployment', v: 'v1' },
  );
  assert.deepEqual(
    inventoryEntry({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'a.b.c' },
    }),
    { id: '_a.b.c_apiextensions.k8s.io_CustomResourceDefinition', v: 'v1' },
  );
});

test('RBAC kinds write a colon in the name as a double underscore, and read it back', () => {
  const id = {
    namespace: '',
    name: 'system:controller:pinwarden',
    group: 'rbac.authorization.k8s.io',
    kind: 'ClusterRole',
  };
  assert.equal(encodeId(id), '_system__controller__pinwarden_rbac.authorization.k8s.io_ClusterRole');
  assert.deepEqual(decodeId(encodeId(id)), id);
  // Other kinds keep their colons (names of non-RBAC objects cannot hold one anyway).
  assert.equal(encodeId({ namespace: 'ns', name: 'a:b', group: '', kind: 'ConfigMap' }), 'ns_a:b__ConfigMap');
});

test('decoding follows cli-utils: namespace to the first _, kind after the last, group between the last two', () => {
  assert.deepEqual(decodeId('default_my_app_with_underscores_apps_Deployment'), {
    namespace: 'default',
    name: 'my_app_with_underscores',
    group: 'apps',
    kind: 'Deployment',
  });
  assert.deepEqual(decodeId('_test__Namespace'), { namespace: '', name: 'test', group: '', kind: 'Namespace' });
  for (const bad of ['', 'nounderscore', 'a_b', 'a_b_c', 'ns___Kind', 'ns_name__'])
    assert.equal(decodeId(bad), undefined, bad);
});

test('stale entries compare identity without the version', () => {
  const previous = [
    { id: 'ns_a_apps_Deployment', v: 'v1' },
    { id: 'ns_b__ConfigMap', v: 'v1' },
    { id: 'ns_c__Secret', v: 'v1' },
  ];
  const next = [
    { id: 'ns_a_apps_Deployment', v: 'v2' },
    { id: 'ns_c__Secret', v: 'v1' },
  ];
  assert.deepEqual(staleEntries(previous, next), [{ id: 'ns_b__ConfigMap', v: 'v1' }]);
  assert.deepEqual(staleEntries([], next), []);
});
