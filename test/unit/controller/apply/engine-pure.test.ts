import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanupPatch,
  computeHealth,
  excludedFromPrune,
  hasDrifted,
  ownedBy,
  ssaPolicy,
} from '../../../../src/controller/apply/index.ts';
import type { KubeObject } from '../../../../src/controller/apply/index.ts';

const base = (extra: Partial<KubeObject['metadata']> = {}, rest: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'a', namespace: 'n', resourceVersion: '1', ...extra },
  ...rest,
});

test('drift: new objects, label or annotation changes, and any change outside metadata/status drift; managedFields and status do not', () => {
  assert.equal(hasDrifted(undefined, base()), true);
  assert.equal(hasDrifted(base(), base({ resourceVersion: undefined })), true);
  assert.equal(
    hasDrifted(
      base({}, { data: { a: '1' } }),
      base({ managedFields: [{ manager: 'x' }] }, { data: { a: '1' }, status: { x: 1 } }),
    ),
    false,
  );
  assert.equal(hasDrifted(base({ labels: { a: '1' } }), base({ labels: { a: '2' } })), true);
  assert.equal(hasDrifted(base({ annotations: {} }), base({ annotations: { b: '1' } })), true);
  assert.equal(hasDrifted(base({}, { data: { a: '1' } }), base({}, { data: { a: '2' } })), true);
});

test('markers: values are compared case-insensitively on labels or annotations', () => {
  assert.equal(ssaPolicy(base({ annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'ifnotpresent' } })), 'IfNotPresent');
  assert.equal(ssaPolicy(base({ labels: { 'kustomize.toolkit.fluxcd.io/ssa': 'MERGE' } })), 'Merge');
  assert.equal(ssaPolicy(base({ annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'Override' } })), 'Override');
  assert.equal(ssaPolicy(base({ annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'bogus' } })), 'Override');
  assert.equal(excludedFromPrune(base({ labels: { 'kustomize.toolkit.fluxcd.io/prune': 'Disabled' } })), true);
  assert.equal(excludedFromPrune(base({ annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'Ignore' } })), true);
  assert.equal(excludedFromPrune(base({ annotations: { 'kustomize.toolkit.fluxcd.io/prune': 'enabled' } })), false);
  const owner = { name: 'apps', namespace: 'flux-system' };
  assert.equal(
    ownedBy(
      base({
        labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' },
      }),
      owner,
    ),
    true,
  );
  assert.equal(
    ownedBy(
      base({
        labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'other' },
      }),
      owner,
    ),
    false,
  );
  assert.equal(ownedBy(base(), owner), false);
});

test("cleanup: takeover managers (by prefix) merge into pinwarden's Apply entry; last-applied and gc markers removed; nothing to do is undefined", () => {
  const live = base({
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', keep: 'x' },
    labels: { 'fluxcd.io/sync-gc-mark': 'y' },
    managedFields: [
      {
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        apiVersion: 'v1',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:a': {} } },
      },
      {
        manager: 'pinwarden',
        operation: 'Apply',
        apiVersion: 'v1',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:b': {} } },
      },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        apiVersion: 'v1',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': {} },
      },
      {
        manager: 'kubectl',
        operation: 'Update',
        apiVersion: 'v1',
        subresource: 'status',
        fieldsType: 'FieldsV1',
        fieldsV1: {},
      },
    ],
  });
  const ops = cleanupPatch(live, 'pinwarden')!;
  assert.deepEqual(ops[0], { op: 'test', path: '/metadata/resourceVersion', value: '1' });
  const replaced = ops[1]!.value as Array<{
    manager: string;
    operation: string;
    fieldsV1: unknown;
    subresource?: string;
  }>;
  assert.deepEqual(
    replaced.map((entry) => `${entry.manager}/${entry.operation}${entry.subresource ? '/' + entry.subresource : ''}`),
    ['kube-controller-manager/Update', 'kubectl/Update/status', 'pinwarden/Apply'],
  );
  assert.deepEqual(replaced[2]!.fieldsV1, { 'f:data': { 'f:b': {}, 'f:a': {} } });
  assert.deepEqual(ops.slice(2), [
    { op: 'remove', path: '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration' },
    { op: 'remove', path: '/metadata/labels/fluxcd.io~1sync-gc-mark' },
  ]);
  assert.equal(
    cleanupPatch(base({ managedFields: [{ manager: 'pinwarden', operation: 'Apply' }] }), 'pinwarden'),
    undefined,
  );
});

test('kstatus: generation, Reconciling/Stalled/Ready conditions, CRDs and built-ins', () => {
  const cr = (status: unknown, generation = 1): KubeObject => ({
    apiVersion: 'x.io/v1',
    kind: 'W',
    metadata: { name: 'w', generation },
    ...(status === undefined ? {} : { status }),
  });
  const cond = (type: string, status: string, reason = 'R'): unknown => ({ type, status, reason });
  assert.equal(computeHealth(cr(undefined)).status, 'Current', 'a CR with no status is Current');
  assert.equal(
    computeHealth(cr({ observedGeneration: 1, conditions: [cond('Ready', 'True')] }, 2)).status,
    'InProgress',
  );
  assert.equal(computeHealth(cr({ conditions: [cond('Ready', 'True')] })).status, 'Current');
  assert.equal(computeHealth(cr({ conditions: [cond('Ready', 'False')] })).status, 'InProgress');
  assert.equal(
    computeHealth(cr({ conditions: [cond('Reconciling', 'True'), cond('Ready', 'True')] })).status,
    'InProgress',
  );
  assert.equal(computeHealth(cr({ conditions: [cond('Stalled', 'True')] })).status, 'Failed');
  assert.equal(
    computeHealth({ ...cr(undefined), metadata: { name: 'w', deletionTimestamp: '2026-01-01T00:00:00Z' } }).status,
    'Terminating',
  );
  const crd = (conditions: unknown[]): KubeObject => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'c' },
    status: { conditions },
  });
  assert.equal(computeHealth(crd([cond('Established', 'True'), cond('NamesAccepted', 'True')])).status, 'Current');
  assert.equal(computeHealth(crd([cond('Established', 'False', 'Installing')])).status, 'InProgress');
  assert.equal(computeHealth(crd([cond('NamesAccepted', 'False')])).status, 'Failed');
  const deploy = (status: unknown): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', generation: 1 },
    spec: { replicas: 2 },
    ...(status === undefined ? {} : { status }),
  });
  assert.equal(computeHealth(deploy(undefined)).status, 'InProgress');
  assert.equal(
    computeHealth(
      deploy({
        observedGeneration: 1,
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
        conditions: [cond('Available', 'True')],
      }),
    ).status,
    'Current',
  );
  assert.equal(
    computeHealth(
      deploy({
        observedGeneration: 1,
        replicas: 2,
        updatedReplicas: 2,
        availableReplicas: 1,
        conditions: [cond('Available', 'True')],
      }),
    ).status,
    'InProgress',
  );
  assert.equal(
    computeHealth(
      deploy({ observedGeneration: 1, conditions: [cond('Progressing', 'False', 'ProgressDeadlineExceeded')] }),
    ).status,
    'Failed',
  );
  assert.equal(computeHealth({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }).status, 'Current');
  assert.equal(
    computeHealth({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      status: { conditions: [cond('Failed', 'True')] },
    }).status,
    'Failed',
  );
});
