/** The labels of `v1 Namespace` objects among a set of manifests (how `check` learns what a namespaceSelector needs). */
import { asRecord, asString } from '../flux/objects.ts';
import { labelsOf, type Labels } from './label-selector.ts';

export function namespaceLabelsOf(objects: Iterable<unknown>): Map<string, Labels> {
  const found = new Map<string, Labels>();
  for (const object of objects) {
    const record = asRecord(object);
    if (asString(record?.apiVersion) !== 'v1' || asString(record?.kind) !== 'Namespace') continue;
    const name = asString(asRecord(record?.metadata)?.name);
    if (name !== undefined && name !== '') found.set(name, labelsOf(object));
  }
  return found;
}
