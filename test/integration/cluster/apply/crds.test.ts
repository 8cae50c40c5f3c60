// Issue #10 item 6: pinwarden's own CRDs (deploy/crds/) on a control plane started WITHOUT Flux's CRDs.
// They install, are structural, serve the status subresource, and accept exactly the examples in
// ../shared/data/flux/examples/ that Flux's own CRDs accept, storing the same spec (same defaults). Flux's
// CRDs are installed beside them under a renamed group ("reference.<group>"), so both answer in one apiserver.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import { FLUX_CRDS, exampleFiles, readExample } from '../../../helpers/flux-data.ts';
import type { Loose } from '../../../helpers/admission.ts';
import { KubeApiError, createObjectClient } from '../../../../src/kube/index.ts';
import type { KubeObjectBody, ObjectClient } from '../../../../src/kube/index.ts';
import { reconcileKustomization } from '../../../../src/controller/kustomization/index.ts';
import type { KustomizationObject } from '../../../../src/controller/kustomization/index.ts';
import { freshNamespace, live } from './fixtures.ts';

const OURS = new URL('../../../../deploy/crds/', import.meta.url);
const FLUX_FILES = [
  'source.toolkit.fluxcd.io_ocirepositories.yaml',
  'source.toolkit.fluxcd.io_buckets.yaml',
  'kustomize.toolkit.fluxcd.io_kustomizations.yaml',
];
const REFERENCE = 'reference.';

let cp: ControlPlane;
let client: ObjectClient;
let ns: string;

before(async () => {
  cp = await startControlPlane({ fluxCrds: 'none' });
  client = createObjectClient(cp.kubeConfig());
  const files = readdirSync(OURS)
    .filter((name) => FLUX_FILES.includes(name))
    .map((name) => join(OURS.pathname, name));
  assert.equal(files.length, 3);
  await cp.kubectlOk(['apply', '--server-side', '--field-manager=pinwarden', ...files.flatMap((file) => ['-f', file])]);
  // Flux's CRDs, renamed into a reference group, answer "would Flux accept this?" in the same apiserver.
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-flux-reference-'));
  try {
    for (const name of FLUX_FILES) {
      const crd = parse(readFileSync(join(FLUX_CRDS, name), 'utf8'));
      crd.spec.group = REFERENCE + crd.spec.group;
      crd.metadata = { name: `${crd.spec.names.plural}.${crd.spec.group}` };
      writeFileSync(join(dir, name), JSON.stringify(crd));
    }
    await cp.kubectlOk(['apply', '--server-side', ...FLUX_FILES.flatMap((name) => ['-f', join(dir, name)])]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await cp.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  ns = await freshNamespace(cp, 'crds');
});
after(() => cp?.stop());

test("the three CRDs install, are Established and structural, with a status subresource and Flux's names", async () => {
  for (const name of [
    'ocirepositories.source.toolkit.fluxcd.io',
    'buckets.source.toolkit.fluxcd.io',
    'kustomizations.kustomize.toolkit.fluxcd.io',
  ]) {
    const crd = await live(cp, ['crd', name]);
    const conditions = Object.fromEntries(crd.status.conditions.map((item: Loose) => [item.type, item.status]));
    assert.equal(conditions.Established, 'True', name);
    assert.equal(conditions.NamesAccepted, 'True', name);
    assert.equal(conditions.NonStructuralSchema, undefined, `${name} is structural`);
    const [version] = crd.spec.versions;
    assert.deepEqual([version.name, version.served, version.storage], ['v1', true, true]);
    assert.deepEqual(version.subresources, { status: {} });
    const group = name.slice(name.indexOf('.') + 1);
    const flux = parse(readFileSync(join(FLUX_CRDS, `${group}_${name.split('.')[0]}.yaml`), 'utf8'));
    assert.deepEqual(crd.spec.names, flux.spec.names, `${name}: kind, plural, short names and categories as Flux's`);
    assert.equal(crd.spec.scope, 'Namespaced');
  }
});

interface Verdict {
  accepted: boolean;
  spec?: unknown;
  why?: string;
}

async function create(object: KubeObjectBody): Promise<Verdict> {
  try {
    await client.apply(object, { fieldManager: 'test', force: true });
  } catch (error) {
    if (error instanceof KubeApiError) return { accepted: false, why: error.apiMessage };
    throw error;
  }
  const stored = await client.get({
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: ns,
    name: object.metadata.name ?? '',
  });
  return { accepted: true, spec: stored?.spec };
}

test("every example Flux's CRDs accept is accepted by pinwarden's and stored with the same spec; the rest are refused by both", async () => {
  const rows: string[] = [];
  let accepted = 0;
  for (const file of exampleFiles()) {
    const example = readExample(file) as KubeObjectBody;
    if (example === undefined || typeof example.apiVersion !== 'string') continue;
    const name = `ex-${file
      .replace(/\.yaml$/, '')
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')}`.slice(0, 60);
    const object = { ...example, metadata: { ...(example.metadata ?? {}), name, namespace: ns } } as KubeObjectBody;
    delete (object as { status?: unknown }).status;
    const reference = await create({ ...object, apiVersion: REFERENCE + object.apiVersion });
    const ours = await create(object);
    rows.push(`${file}: flux=${reference.accepted} pinwarden=${ours.accepted}${ours.why ? ` (${ours.why})` : ''}`);
    assert.equal(
      ours.accepted,
      reference.accepted,
      `${file}: Flux ${reference.accepted ? 'accepts' : `refuses (${reference.why})`}, pinwarden ${ours.accepted ? 'accepts' : `refuses (${ours.why})`}`,
    );
    if (reference.accepted) {
      accepted++;
      assert.deepEqual(ours.spec, reference.spec, `${file}: stored spec (defaults included) differs from Flux's`);
    }
  }
  const total = exampleFiles().length;
  assert.ok(accepted >= 30, `only ${accepted} of ${total} examples accepted:\n${rows.join('\n')}`);
  assert.ok(accepted < total, 'the fragments and v1beta2 examples are refused by both');
  console.log(
    `# ${accepted} of ${total} examples accepted by Flux's CRDs and by pinwarden's, with the same stored spec`,
  );
});

test('bad values are refused as Flux refuses them (enums, patterns, required fields)', async () => {
  const bad: Array<[KubeObjectBody, RegExp]> = [
    [
      {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'OCIRepository',
        metadata: { name: 'bad-url', namespace: ns },
        spec: { url: 'https://x', interval: '1m' },
      },
      /spec.url/,
    ],
    [
      {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'OCIRepository',
        metadata: { name: 'bad-provider', namespace: ns },
        spec: { url: 'oci://x/y', interval: '1m', verify: { provider: 'pgp' } },
      },
      /spec.verify.provider/,
    ],
    [
      {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'no-prune', namespace: ns },
        spec: { interval: '1m', sourceRef: { kind: 'OCIRepository', name: 'x' } },
      },
      /spec.prune/,
    ],
    [
      {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'bad-kind', namespace: ns },
        spec: { interval: '1m', prune: true, sourceRef: { kind: 'HelmRepository', name: 'x' } },
      },
      /spec.sourceRef.kind/,
    ],
    [
      {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'bad-interval', namespace: ns },
        spec: { interval: 'soon', prune: true, sourceRef: { kind: 'OCIRepository', name: 'x' } },
      },
      /spec.interval/,
    ],
    [
      {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'Bucket',
        metadata: { name: 'bad-sts', namespace: ns },
        spec: {
          bucketName: 'b',
          endpoint: 'e',
          interval: '1m',
          provider: 'gcp',
          sts: { provider: 'aws', endpoint: 'https://sts' },
        },
      },
      /STS configuration is only supported/,
    ],
  ];
  for (const [object, pattern] of bad) {
    const verdict = await create(object);
    assert.equal(verdict.accepted, false, object.metadata.name);
    assert.match(verdict.why ?? '', pattern);
    const flux = await create({ ...object, apiVersion: REFERENCE + object.apiVersion });
    assert.equal(flux.accepted, false, `Flux refuses ${object.metadata.name} too`);
  }
});

test("a cluster without Flux: the reconciler's status is stored through pinwarden's Kustomization CRD", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-artifact-'));
  try {
    writeFileSync(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  a: "1"\n');
    const digest = `sha256:${'c'.repeat(64)}`;
    await client.apply(
      {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'OCIRepository',
        metadata: { name: 'app', namespace: ns },
        spec: { url: 'oci://registry.example/app', interval: '5m', ref: { digest } },
      },
      { fieldManager: 'test' },
    );
    await client.applyStatus(
      {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'OCIRepository',
        metadata: { name: 'app', namespace: ns },
        status: {
          artifact: { digest, revision: digest, path: 'x', url: 'http://x', lastUpdateTime: '2026-01-01T00:00:00Z' },
        },
      },
      { fieldManager: 'test' },
    );
    await client.apply(
      {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'apps', namespace: ns },
        spec: { interval: '5m', prune: true, targetNamespace: ns, sourceRef: { kind: 'OCIRepository', name: 'app' } },
      },
      { fieldManager: 'test' },
    );
    const object = (await client.get({
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      namespace: ns,
      name: 'apps',
    })) as unknown as KustomizationObject;
    assert.equal(object.status?.observedGeneration, -1, "the status default is Flux's");
    const outcome = await reconcileKustomization(object, {
      client,
      clientFor: () => client,
      artifacts: { directoryFor: async (wanted) => (wanted === digest ? dir : undefined) },
    });
    assert.equal(outcome.result, 'succeeded');
    await client.applyStatus(
      {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'apps', namespace: ns },
        status: outcome.status,
      },
      { fieldManager: 'pinwarden', force: true },
    );
    const stored = await live(cp, ['kustomizations.kustomize.toolkit.fluxcd.io', '-n', ns, 'apps']);
    assert.equal(stored.status.lastAppliedRevision, digest);
    assert.deepEqual(stored.status.inventory.entries, [{ id: `${ns}_hello__ConfigMap`, v: 'v1' }]);
    assert.equal((await live(cp, ['configmap', '-n', ns, 'hello'])).data.a, '1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
