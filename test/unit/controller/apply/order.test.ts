import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectId, sortForDelete, stageOf, stages } from '../../../../src/controller/apply/index.ts';
import type { KubeObject } from '../../../../src/controller/apply/index.ts';

const o = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
});

test('stages: CRDs, Namespaces and ClusterRoles first (waited), *Class kinds next (waited), then the rest', () => {
  const objects = [
    o('apps/v1', 'Deployment', 'web', 'a'),
    o('v1', 'ConfigMap', 'cfg', 'a'),
    o('networking.k8s.io/v1', 'IngressClass', 'nginx'),
    o('rbac.authorization.k8s.io/v1', 'ClusterRole', 'reader'),
    o('example.com/v1', 'Widget', 'w', 'a'),
    o('v1', 'Namespace', 'a'),
    o('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com'),
    o('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'reader'),
    o('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'hook'),
  ];
  const result = stages(objects);
  assert.deepEqual(
    result.map((stage) => [
      stage.name,
      stage.wait,
      stage.objects.map((object) => `${object.kind}/${object.metadata.name}`),
    ]),
    [
      ['definitions', true, ['CustomResourceDefinition/widgets.example.com', 'Namespace/a', 'ClusterRole/reader']],
      ['classes', true, ['IngressClass/nginx']],
      [
        'resources',
        false,
        [
          'ClusterRoleBinding/reader',
          'ConfigMap/cfg',
          'Deployment/web',
          'Widget/w',
          'ValidatingWebhookConfiguration/hook',
        ],
      ],
    ],
  );
  assert.equal(
    stageOf(o('example.com/v1', 'Namespace', 'not-core')),
    'resources',
    'only the core Namespace is a definition',
  );
});

test('inside a kind, objects sort by group, kind, namespace, name; deletion runs in reverse', () => {
  const objects = [
    o('v1', 'ConfigMap', 'b', 'y'),
    o('v1', 'ConfigMap', 'a', 'y'),
    o('v1', 'ConfigMap', 'z', 'x'),
    o('v1', 'ServiceAccount', 'sa', 'x'),
  ];
  const [only] = stages(objects);
  assert.deepEqual(
    only!.objects.map((object) => `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`),
    ['ServiceAccount/x/sa', 'ConfigMap/x/z', 'ConfigMap/y/a', 'ConfigMap/y/b'],
  );
  assert.deepEqual(
    sortForDelete(only!.objects.map(objectId)).map((id) => id.name),
    ['b', 'a', 'z', 'sa'],
  );
});

test('an empty set has no stages', () => {
  assert.deepEqual(stages([]), []);
});
