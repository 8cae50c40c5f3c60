import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  DEFAULT_MANIFEST_LIMITS,
  parseManifestText,
  readManifests,
  secureJoin,
  setTargetNamespace,
} from '../../../../src/controller/apply/index.ts';
import { isPinwardenError } from '../../../../src/core/errors.ts';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pinwarden-manifests-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isPinwardenError(error), String(error));
    return { code: error.code, message: error.message };
  }
  assert.fail('expected a failure');
}

const cm = (name: string, ns = 'apps'): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n`;

test('reads *.yaml and *.yml under the path, nested directories included, in lexical order; other files ignored', async () => {
  const root = tree({
    'deploy/b.yaml': cm('b'),
    'deploy/a.yml': `${cm('a1')}---\n# only a comment\n---\n${cm('a2')}`,
    'deploy/sub/deeper/c.yaml': cm('c'),
    'deploy/README.md': 'not yaml',
    'deploy/data.json': '{"apiVersion":"v1"}',
    'deploy/.hidden/d.yaml': cm('d'),
    'other/e.yaml': cm('e'),
  });
  try {
    const objects = await readManifests(root, './deploy');
    assert.deepEqual(
      objects.map((item) => `${item.file}:${item.line}:${item.object.metadata.name}`),
      [
        'deploy/.hidden/d.yaml:1:d',
        'deploy/a.yml:1:a1',
        'deploy/a.yml:9:a2',
        'deploy/b.yaml:1:b',
        'deploy/sub/deeper/c.yaml:1:c',
      ],
    );
    assert.equal((await readManifests(root, '')).length, 6, 'an empty path is the artifact root');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a kustomization file anywhere under the path is BuildFailed telling to render in CI', async () => {
  for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization', 'nested/kustomization.yaml']) {
    const root = tree({ 'app/cm.yaml': cm('x'), [`app/${name}`]: 'resources: [cm.yaml]\n' });
    try {
      const { code, message } = await failure(readManifests(root, 'app'));
      assert.equal(code, 'PW_BUILD_FAILED');
      assert.match(message, /needs a kustomize build/);
      assert.match(message, /render .* in CI/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
});

test('a missing path is ArtifactFailed; .. never climbs out of the artifact root', async () => {
  const root = tree({ 'app/cm.yaml': cm('x') });
  try {
    const { code, message } = await failure(readManifests(root, 'nope'));
    assert.equal(code, 'PW_ARTIFACT_FAILED');
    assert.match(message, /kustomization path not found/);
    assert.equal(secureJoin('/art', '../../etc'), '/art/etc');
    assert.equal(secureJoin('/art', 'a/../../b'), '/art/b');
    assert.equal((await readManifests(root, '../../app')).length, 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('symlinks are never followed', async () => {
  const root = tree({ 'app/cm.yaml': cm('x'), 'outside/secret.yaml': cm('leak') });
  try {
    symlinkSync(join(root, 'outside'), join(root, 'app', 'link'));
    symlinkSync(join(root, 'outside', 'secret.yaml'), join(root, 'app', 'file.yaml'));
    const objects = await readManifests(root, 'app');
    assert.deepEqual(
      objects.map((item) => item.object.metadata.name),
      ['x'],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('malformed input is BuildFailed naming the file and line, never a crash', () => {
  const cases: Array<[string, RegExp]> = [
    ['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n', /x\.yaml:\d+: /],
    ['apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: a}\n', /x\.yaml:\d+: .*(unique|duplicate)/i],
    ['- just\n- a list\n', /not a mapping/],
    ['kind: ConfigMap\nmetadata: {name: a}\n', /missing apiVersion/],
    ['apiVersion: v1\nmetadata: {name: a}\n', /missing kind/],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n', /has no metadata.name/],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {n: 1}}\n', /labels .* must map strings to strings/],
    ['"just a string"\n', /not a mapping/],
    ['apiVersion: v1\nkind: List\nitems: 3\n', /items is not a sequence/],
    [
      `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n`,
      /x\.yaml:1: .*alias/i,
    ],
  ];
  for (const [text, pattern] of cases) {
    let caught: unknown;
    try {
      parseManifestText(text, 'x.yaml');
    } catch (error) {
      caught = error;
    }
    assert.ok(isPinwardenError(caught) && caught.code === 'PW_BUILD_FAILED', `${text}: ${String(caught)}`);
    assert.match(caught.message, pattern, text);
  }
});

test('JSON documents, List expansion and empty documents', () => {
  const objects = parseManifestText(
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"}}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n- {apiVersion: v1, kind: Service, metadata: {name: v}}\n',
    'x.yaml',
  );
  assert.deepEqual(
    objects.map((item) => item.object.kind),
    ['ConfigMap', 'Secret', 'Service'],
  );
});

test('duplicates and caps are BuildFailed', async () => {
  const dup = tree({ 'a.yaml': cm('same'), 'b.yaml': cm('same') });
  const many = tree(Object.fromEntries(Array.from({ length: 5 }, (_, index) => [`f${index}.yaml`, cm(`c${index}`)])));
  const big = tree({ 'big.yaml': cm('big') + `data:\n  x: "${'y'.repeat(4096)}"\n` });
  try {
    assert.match((await failure(readManifests(dup, ''))).message, /defined twice .*already registered id/);
    assert.match(
      (await failure(readManifests(many, '', { ...DEFAULT_MANIFEST_LIMITS, maxFiles: 4 }))).message,
      /more than 4 manifest files/,
    );
    assert.match(
      (await failure(readManifests(many, '', { ...DEFAULT_MANIFEST_LIMITS, maxObjects: 3 }))).message,
      /more than 3 objects/,
    );
    assert.match(
      (await failure(readManifests(big, '', { ...DEFAULT_MANIFEST_LIMITS, maxFileBytes: 1024 }))).message,
      /over the 1024-byte cap per manifest file/,
    );
    assert.match(
      (await failure(readManifests(many, '', { ...DEFAULT_MANIFEST_LIMITS, maxTotalBytes: 100 }))).message,
      /over the 100-byte cap/,
    );
  } finally {
    for (const root of [dup, many, big]) rmSync(root, { recursive: true, force: true });
  }
});

test('targetNamespace sets the namespace of namespaced objects only (cluster-scoped kinds and cluster-scoped CRDs of the set keep none)', () => {
  const objects = setTargetNamespace(
    [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'old' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' } },
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'gs.x.io' },
        spec: { scope: 'Cluster', names: { kind: 'Global' } },
      },
      { apiVersion: 'x.io/v1', kind: 'Global', metadata: { name: 'g' } },
      { apiVersion: 'x.io/v1', kind: 'Local', metadata: { name: 'l' } },
    ],
    'target',
  );
  assert.deepEqual(
    objects.map((object) => object.metadata.namespace),
    ['target', undefined, undefined, undefined, undefined, 'target'],
  );
  assert.equal(
    setTargetNamespace(
      [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'keep' } }],
      undefined,
    )[0]!.metadata.namespace,
    'keep',
  );
});

test('targetNamespace moves a RoleBinding subject ServiceAccount named default, as kustomize does, and leaves the others', () => {
  const [binding] = setTargetNamespace(
    [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'b' },
        subjects: [
          { kind: 'ServiceAccount', name: 'default', namespace: 'old' },
          { kind: 'ServiceAccount', name: 'app', namespace: 'old' },
          { kind: 'User', name: 'default' },
        ],
      },
    ],
    'target',
  );
  assert.deepEqual(binding!.subjects, [
    { kind: 'ServiceAccount', name: 'default', namespace: 'target' },
    { kind: 'ServiceAccount', name: 'app', namespace: 'old' },
    { kind: 'User', name: 'default' },
  ]);
  assert.equal(binding!.metadata.namespace, undefined, 'a ClusterRoleBinding stays cluster-scoped');
});
