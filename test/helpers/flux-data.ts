/** Reads the shared Flux data in place (../shared/data/flux, beside the repo); never copied into the repo. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
export const FLUX_EXAMPLES = join(SHARED_DATA, 'flux', 'examples');
export const FLUX_CRDS = join(SHARED_DATA, 'flux', 'crds');

export function exampleFiles(): string[] {
  return readdirSync(FLUX_EXAMPLES)
    .filter((name) => name.endsWith('.yaml'))
    .sort();
}

export function readYamlObjects(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((document) => document.toJS() as unknown)
    .filter((value) => value !== null && value !== undefined);
}

export function readExample(name: string): unknown {
  const [object] = readYamlObjects(join(FLUX_EXAMPLES, name));
  return object;
}

export function crdFiles(): string[] {
  return readdirSync(FLUX_CRDS)
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => join(FLUX_CRDS, name));
}
