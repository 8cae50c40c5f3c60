// scripts/policy-crds.ts: the SourcePolicy and SourcePolicyException CRDs are generated from the JSON Schemas
// the loader validates with. The committed files must be exactly what the script derives (no drift), and the
// result must be a structural schema Kubernetes accepts (the apiserver test applies it for real).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { KINDS, crdFor, renderAll, structuralSchema } from '../../../scripts/policy-crds.ts';
import { sourcePolicyExceptionSchema, sourcePolicySchema } from '../../../src/core/policy/index.ts';

test('the committed CRDs (deploy/crds and the chart crds/) are exactly what the script derives', () => {
  const files = renderAll();
  assert.equal(files.length, 4);
  for (const { file, text } of files)
    assert.equal(readFileSync(file, 'utf8'), text, `${file} drifted: run node scripts/policy-crds.ts`);
});

type Node = Record<string, unknown>;

function walk(node: Node, path: string, visit: (node: Node, path: string) => void): void {
  visit(node, path);
  for (const [name, child] of Object.entries((node.properties as Record<string, Node> | undefined) ?? {}))
    walk(child, `${path}.${name}`, visit);
  if (node.items) walk(node.items as Node, `${path}[]`, visit);
  if (typeof node.additionalProperties === 'object') walk(node.additionalProperties as Node, `${path}{}`, visit);
}

test('structural: every node has a type, no $ref, uniqueItems, default or additionalProperties: false; sets are marked', () => {
  for (const kind of KINDS) {
    const schema = structuralSchema(kind);
    walk(schema, kind.kind, (node, path) => {
      assert.equal(typeof node.type, 'string', `${path} has no type`);
      for (const key of ['$ref', 'uniqueItems', 'default', 'const', 'definitions', '$schema'])
        assert.ok(!(key in node), `${path} keeps ${key}`);
      assert.notEqual(node.additionalProperties, false, `${path}`);
      if (node.properties !== undefined)
        assert.equal(node.additionalProperties, undefined, `${path}: properties and additionalProperties together`);
      if (node.exclusiveMinimum !== undefined)
        assert.equal(node.exclusiveMinimum, true, `${path}: OpenAPI v3 exclusiveMinimum is a boolean`);
    });
  }
  const spec = structuralSchema(KINDS[0]!).properties as Record<string, Node>;
  const oci = ((spec.spec as Node).properties as Record<string, Node>).ociRepository as Node;
  const providers = (oci.properties as Record<string, Node>).allowedVerifyProviders as Node;
  assert.equal(providers['x-kubernetes-list-type'], 'set');
  assert.deepEqual((providers.items as Node).enum, ['cosign', 'notation']);
  assert.equal((providers.items as Node).type, 'string');
  const timeout = (
    (((spec.spec as Node).properties as Record<string, Node>).registry as Node).properties as Record<string, Node>
  ).timeoutSeconds as Node;
  assert.deepEqual(
    { minimum: timeout.minimum, exclusiveMinimum: timeout.exclusiveMinimum, maximum: timeout.maximum },
    { minimum: 0, exclusiveMinimum: true, maximum: 25 },
  );
});

test('one source of truth: every spec field of the JSON Schemas is in the CRD, with its constraints', () => {
  const pairs: Array<[Node, Node]> = [
    [sourcePolicySchema, structuralSchema(KINDS[0]!)],
    [sourcePolicyExceptionSchema, structuralSchema(KINDS[1]!)],
  ];
  for (const [json, crd] of pairs) {
    const jsonSpec = (json.properties as Record<string, Node>).spec as Node;
    const crdSpec = (crd.properties as Record<string, Node>).spec as Node;
    assert.deepEqual(Object.keys(crdSpec.properties as Node), Object.keys(jsonSpec.properties as Node));
    assert.deepEqual(crdSpec.required, jsonSpec.required);
  }
  // The exception's selector is the policy's labelSelector definition, inlined.
  const exceptionSpec = (structuralSchema(KINDS[1]!).properties as Record<string, Node>).spec as Node;
  const objects = (exceptionSpec.properties as Record<string, Node>).objects as Node;
  const selector = ((objects.items as Node).properties as Record<string, Node>).selector as Node;
  assert.deepEqual(Object.keys(selector.properties as Node), ['matchLabels', 'matchExpressions']);
  assert.equal(((selector.properties as Record<string, Node>).matchLabels as Node).maxProperties, 64);
});

test('scope, names, status subresource and the generated YAML parses back to the same object', () => {
  const [policy, exception] = KINDS.map((kind) => crdFor(kind) as { metadata: { name: string }; spec: Node });
  assert.equal(policy!.metadata.name, 'sourcepolicies.pinwarden.dev');
  assert.equal(policy!.spec.scope, 'Cluster');
  assert.equal(exception!.metadata.name, 'sourcepolicyexceptions.pinwarden.dev');
  assert.equal(exception!.spec.scope, 'Namespaced');
  for (const { text } of renderAll().slice(0, 2)) {
    const parsed = parse(text) as {
      spec: { versions: Array<{ subresources: unknown; schema: { openAPIV3Schema: Node } }> };
    };
    assert.deepEqual(parsed.spec.versions[0]!.subresources, { status: {} });
    assert.ok(
      ((parsed.spec.versions[0]!.schema.openAPIV3Schema.properties as Record<string, Node>).status as Node).properties,
    );
  }
});
