// Derives src/core/flux/flux-source-schemas.json from the Flux CRDs in ../shared/data/flux/crds (read in
// place): only the openAPIV3Schema of each served OCIRepository and Bucket version, with the prose
// `description` strings dropped (they do not change validation). `pinwarden check` ships this because it
// runs in CI where ../shared does not exist; test/unit/core/flux/flux-schemas.test.ts re-derives it from the
// CRDs and fails when the committed file drifts.
//   node scripts/flux-schemas.ts          write the file
//   node scripts/flux-schemas.ts --check  exit 1 when the committed file differs
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse } from 'yaml';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const CRDS = join(REPO_ROOT, '..', 'shared', 'data', 'flux', 'crds');
export const SCHEMA_FILE = join(REPO_ROOT, 'src', 'core', 'flux', 'flux-source-schemas.json');

/** Newest CRD first: a version it serves wins over the same version in an older release. */
const SOURCES = [
  { file: 'source.toolkit.fluxcd.io_ocirepositories.yaml', release: 'source-controller 39b711b1 (after v1.9.1)' },
  { file: 'source.toolkit.fluxcd.io_buckets.yaml', release: 'source-controller 39b711b1 (after v1.9.1)' },
  { file: 'source.toolkit.fluxcd.io_ocirepositories.v1.7.4-with-v1beta2.yaml', release: 'source-controller v1.7.4' },
  { file: 'source.toolkit.fluxcd.io_buckets.v1.7.4-with-v1beta2.yaml', release: 'source-controller v1.7.4' },
];

interface DerivedVersion {
  apiVersion: string;
  kind: string;
  from: string;
  openAPIV3Schema: unknown;
}

export function deriveSchemas(): {
  generatedBy: string;
  sources: Array<{ file: string; release: string; sha256: string }>;
  versions: DerivedVersion[];
} {
  const versions: DerivedVersion[] = [];
  const sources = [];
  for (const source of SOURCES) {
    const text = readFileSync(join(CRDS, source.file), 'utf8');
    sources.push({ ...source, sha256: createHash('sha256').update(text).digest('hex') });
    const crd = parse(text) as {
      spec: {
        group: string;
        names: { kind: string };
        versions: Array<{ name: string; served: boolean; schema?: { openAPIV3Schema?: unknown } }>;
      };
    };
    for (const version of crd.spec.versions) {
      const apiVersion = `${crd.spec.group}/${version.name}`;
      if (!version.served || !version.schema?.openAPIV3Schema) continue;
      if (versions.some((known) => known.apiVersion === apiVersion && known.kind === crd.spec.names.kind)) continue;
      versions.push({
        apiVersion,
        kind: crd.spec.names.kind,
        from: source.file,
        openAPIV3Schema: withoutDescriptions(version.schema.openAPIV3Schema),
      });
    }
  }
  versions.sort((a, b) => `${a.kind} ${a.apiVersion}`.localeCompare(`${b.kind} ${b.apiVersion}`));
  return {
    generatedBy: 'scripts/flux-schemas.ts from ../shared/data/flux/crds (openAPIV3Schema only, descriptions dropped)',
    sources,
    versions,
  };
}

function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'description' && typeof child === 'string') continue;
    out[key] = withoutDescriptions(child);
  }
  return out;
}

export function renderSchemas(): string {
  return `${JSON.stringify(deriveSchemas())}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = renderSchemas();
  if (process.argv.includes('--check')) {
    const current = readFileSync(SCHEMA_FILE, 'utf8');
    if (current !== text) {
      console.error(`${SCHEMA_FILE} differs from the CRDs: run node scripts/flux-schemas.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(SCHEMA_FILE, text);
    console.log(`wrote ${SCHEMA_FILE} (${text.length} bytes)`);
  }
}
