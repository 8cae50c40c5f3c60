// Generates the SourcePolicy and SourcePolicyException CRDs from the JSON Schemas the loader validates with
// (src/core/policy/*.schema.json): one source of truth. The JSON Schema (draft-07, what ajv checks) becomes a
// Kubernetes structural schema:
//   - `$ref` is inlined (same document, or the policy schema's definitions from the exception schema);
//   - every node gets a `type` (an `enum`/`const` without one takes its values' type); `const` becomes `enum`;
//   - `uniqueItems` becomes `x-kubernetes-list-type: set` on lists of scalars (Kubernetes refuses uniqueItems);
//   - `additionalProperties: false` is dropped (the apiserver prunes unknown fields, and kubectl's strict field
//     validation refuses them), `default` is dropped (the loader applies the defaults, so stored objects stay as
//     written), draft-07 numeric `exclusiveMinimum` becomes OpenAPI's `minimum` + `exclusiveMinimum: true`;
//   - `metadata` is left to Kubernetes; a `status` (conditions) subresource is added.
// The loader still runs on every object (RE2 identity regexes, key trust, rule checks): the CRD schema is the
// first line, never the only one.
//   node scripts/policy-crds.ts          write deploy/crds/ and the Helm chart's crds/
//   node scripts/policy-crds.ts --check  exit 1 when a committed file differs
// test/unit/scripts/policy-crds.test.ts fails when the committed files drift.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const POLICY_SCHEMA = join(REPO_ROOT, 'src', 'core', 'policy', 'source-policy.schema.json');
const EXCEPTION_SCHEMA = join(REPO_ROOT, 'src', 'core', 'policy', 'source-policy-exception.schema.json');
export const GROUP = 'pinwarden.dev';
export const VERSION = 'v1alpha1';

type Json = Record<string, unknown>;

interface CrdKind {
  kind: 'SourcePolicy' | 'SourcePolicyException';
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Cluster' | 'Namespaced';
  schemaFile: string;
  columns: Json[];
}

const READY_COLUMNS: Json[] = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
];

export const KINDS: readonly CrdKind[] = [
  {
    kind: 'SourcePolicy',
    plural: 'sourcepolicies',
    singular: 'sourcepolicy',
    shortNames: ['spol'],
    scope: 'Cluster',
    schemaFile: POLICY_SCHEMA,
    columns: [
      { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
      { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
      ...READY_COLUMNS,
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  },
  {
    kind: 'SourcePolicyException',
    plural: 'sourcepolicyexceptions',
    singular: 'sourcepolicyexception',
    shortNames: ['spolex'],
    scope: 'Namespaced',
    schemaFile: EXCEPTION_SCHEMA,
    columns: [
      { name: 'Expires', type: 'string', jsonPath: '.spec.expires' },
      ...READY_COLUMNS,
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  },
];

export const CRD_DIRS = [join(REPO_ROOT, 'deploy', 'crds'), join(REPO_ROOT, 'deploy', 'helm', 'pinwarden', 'crds')];

export function crdFileName(kind: CrdKind): string {
  return `${GROUP}_${kind.plural}.yaml`;
}

/** metav1.Condition, as every Kubernetes API writes it. */
const CONDITION: Json = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: {
      type: 'string',
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: { type: 'string', minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
    message: { type: 'string', maxLength: 32768 },
  },
};

const STATUS: Json = {
  description: 'Written by pinwarden serve (--policy-source=cluster): whether this object is in force, and why not.',
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64' },
    conditions: {
      type: 'array',
      maxItems: 8,
      items: CONDITION,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    },
  },
};

class SchemaConverter {
  private readonly documents: ReadonlyMap<string, Json>;
  private readonly root: Json;

  constructor(documents: ReadonlyMap<string, Json>, root: Json) {
    this.documents = documents;
    this.root = root;
  }

  convert(node: Json, depth = 0): Json {
    if (depth > 64) throw new Error('schema nesting over 64 levels (a $ref cycle?)');
    let source = node;
    if (typeof node.$ref === 'string') {
      const { $ref, ...siblings } = node;
      source = { ...this.resolve($ref), ...siblings };
    }
    const out: Json = {};
    for (const [key, value] of Object.entries(source)) {
      switch (key) {
        case '$schema':
        case '$id':
        case 'title':
        case 'definitions':
        case 'default':
        case 'uniqueItems':
        case '$ref':
          break;
        case 'const':
          out.enum = [value];
          break;
        case 'additionalProperties':
          if (typeof value === 'object' && value !== null)
            out.additionalProperties = this.convert(value as Json, depth + 1);
          break;
        case 'exclusiveMinimum':
          out.minimum = value;
          out.exclusiveMinimum = true;
          break;
        case 'properties':
          out.properties = Object.fromEntries(
            Object.entries(value as Json).map(([name, child]) => [name, this.convert(child as Json, depth + 1)]),
          );
          break;
        case 'items':
          out.items = this.convert(value as Json, depth + 1);
          break;
        default:
          out[key] = value;
      }
    }
    if (out.type === undefined && Array.isArray(out.enum)) out.type = typeOfValues(out.enum);
    if (out.type === undefined) throw new Error(`a schema node has no type: ${JSON.stringify(source).slice(0, 200)}`);
    if (source.uniqueItems === true) {
      const items = out.items as Json | undefined;
      if (items && ['string', 'integer', 'number', 'boolean'].includes(String(items.type)))
        out['x-kubernetes-list-type'] = 'set';
    }
    return out;
  }

  private resolve(ref: string): Json {
    const [documentId, pointer = ''] = ref.split('#');
    const document = documentId ? this.documents.get(documentId) : this.root;
    if (!document) throw new Error(`unknown $ref document ${documentId ?? ''}`);
    let node: unknown = document;
    for (const segment of pointer.split('/').slice(1))
      node = (node as Json)[segment.replaceAll('~1', '/').replaceAll('~0', '~')];
    if (typeof node !== 'object' || node === null) throw new Error(`unresolved $ref ${ref}`);
    return node as Json;
  }
}

function typeOfValues(values: unknown[]): string {
  const types = new Set(values.map((value) => (Number.isInteger(value) ? 'integer' : typeof value)));
  if (types.size !== 1) throw new Error(`enum of mixed types: ${JSON.stringify(values)}`);
  return [...types][0] as string;
}

function readSchema(file: string): Json {
  return JSON.parse(readFileSync(file, 'utf8')) as Json;
}

/** The structural openAPIV3Schema of one kind, derived from its JSON Schema. */
export function structuralSchema(kind: CrdKind): Json {
  const documents = new Map<string, Json>();
  for (const file of [POLICY_SCHEMA, EXCEPTION_SCHEMA]) {
    const schema = readSchema(file);
    documents.set(String(schema.$id), schema);
  }
  const root = readSchema(kind.schemaFile);
  const converter = new SchemaConverter(documents, root);
  const properties = root.properties as Json;
  const spec = converter.convert(properties.spec as Json);
  const required = ((root.required as string[] | undefined) ?? []).filter((field) => field === 'spec');
  return {
    description: root.description,
    type: 'object',
    ...(required.length > 0 ? { required } : {}),
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec,
      status: STATUS,
    },
  };
}

export function crdFor(kind: CrdKind): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${kind.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'pinwarden' } },
    spec: {
      group: GROUP,
      scope: kind.scope,
      names: {
        kind: kind.kind,
        listKind: `${kind.kind}List`,
        plural: kind.plural,
        singular: kind.singular,
        shortNames: kind.shortNames,
        categories: ['pinwarden'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: kind.columns,
          schema: { openAPIV3Schema: structuralSchema(kind) },
        },
      ],
    },
  };
}

export function renderCrd(kind: CrdKind): string {
  const header = `# Generated by scripts/policy-crds.ts from ${kind.schemaFile.slice(REPO_ROOT.length)}: do not edit.\n`;
  return header + stringify(crdFor(kind), { lineWidth: 0 });
}

/** Every generated file and its content. */
export function renderAll(): Array<{ file: string; text: string }> {
  return CRD_DIRS.flatMap((dir) =>
    KINDS.map((kind) => ({ file: join(dir, crdFileName(kind)), text: renderCrd(kind) })),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const { file, text } of renderAll()) {
    if (check) {
      let current = '';
      try {
        current = readFileSync(file, 'utf8');
      } catch {
        current = '';
      }
      if (current !== text) {
        console.error(`${file} differs from the JSON Schema: run node scripts/policy-crds.ts`);
        stale++;
      }
    } else {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      console.log(`wrote ${file}`);
    }
  }
  if (stale > 0) process.exit(1);
}
