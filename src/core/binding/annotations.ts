/**
 * The annotations commit binding reads: the object's `pinwarden.dev/commit-binding` and the artifact manifest's
 * own annotations (`flux push artifact --source --revision`). Imports flux/objects.ts, not flux/index.ts: the
 * pull path reads annotations and must not load the CRD schema validators (ajv) that flux/index.ts exports.
 */
import { asRecord } from '../flux/objects.ts';
import { COMMIT_BINDING_ANNOTATION } from './commit-binding.ts';

/** The object's `pinwarden.dev/commit-binding` annotation as written (any type), or undefined. */
export function commitBindingAnnotation(object: unknown): unknown {
  return asRecord(asRecord(asRecord(object)?.metadata)?.annotations)?.[COMMIT_BINDING_ANNOTATION];
}

/** An OCI manifest's `annotations`, string values only (anything else is dropped). */
export function manifestAnnotations(manifest: unknown): Record<string, string> {
  const annotations = asRecord(asRecord(manifest)?.annotations) ?? {};
  return Object.fromEntries(
    Object.entries(annotations).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
