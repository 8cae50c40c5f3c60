// scripts/kube-assets.ts: the replace lines come from the release's own go.mod, and a missing binary is a
// one-line instruction (never a silent skip).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findKubeAssets, stagingModules, stagingVersion } from '../../../scripts/kube-assets.ts';

test('stagingModules lists every k8s.io module required at v0.0.0, and nothing else', () => {
  const goMod = [
    'module k8s.io/kubernetes',
    '',
    'require (',
    '\tgithub.com/foo/bar v1.2.3',
    '\tk8s.io/api v0.0.0',
    '\tk8s.io/utils v0.0.0-20260108192941-914a6e750570',
    '\tk8s.io/streaming v0.0.0',
    '\tk8s.io/klog/v2 v2.140.0',
    ')',
    'require k8s.io/kms v0.0.0 // indirect',
    'replace (',
    '\tk8s.io/api => ./staging/src/k8s.io/api',
    ')',
  ].join('\n');
  assert.deepEqual(stagingModules(goMod), ['k8s.io/api', 'k8s.io/kms', 'k8s.io/streaming']);
});

test('stagingVersion maps a Kubernetes release to its staging tag', () => {
  assert.equal(stagingVersion('v1.37.2'), 'v0.37.2');
  assert.equal(stagingVersion('v1.34.10'), 'v0.34.10');
  assert.throws(() => stagingVersion('1.37'), /not a Kubernetes release/);
});

test('KUBEBUILDER_ASSETS without the binaries is a one-line instruction naming what is missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-assets-'));
  try {
    writeFileSync(join(dir, 'kube-apiserver'), '');
    const found = findKubeAssets({ KUBEBUILDER_ASSETS: dir });
    assert.ok('error' in found);
    assert.match(found.error, /lacks etcd, kubectl/);
    assert.equal(found.error.split('\n').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an empty cache is a one-line instruction to build (or point KUBEBUILDER_ASSETS)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-assets-'));
  try {
    const found = findKubeAssets({ PINWARDEN_KUBE_CACHE: dir });
    assert.ok('error' in found);
    assert.match(found.error, /not found in .*: .*node scripts\/kube-assets\.ts.*KUBEBUILDER_ASSETS/);
    assert.equal(found.error.split('\n').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('KUBEBUILDER_ASSETS with all three binaries wins over the cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-assets-'));
  try {
    for (const name of ['kube-apiserver', 'etcd', 'kubectl']) writeFileSync(join(dir, name), '');
    const found = findKubeAssets({ KUBEBUILDER_ASSETS: dir, PINWARDEN_KUBE_CACHE: '/nonexistent' });
    assert.ok(!('error' in found));
    assert.equal(found.kubectl, join(dir, 'kubectl'));
    assert.equal(found.source, 'KUBEBUILDER_ASSETS');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
