/**
 * Validates objects against a CustomResourceDefinition's openAPIV3Schema, one validator per served
 * version, with ajv. Kubernetes prunes unknown fields instead of rejecting them, and JSON Schema's default
 * (additional properties allowed) gives the same verdict. CEL rules (x-kubernetes-validations) are not
 * evaluated here; the apiserver does that.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { asRecord, asString } from './objects.ts';

export interface SchemaCheck {
  /** false when no served version of a loaded CRD covers the object's apiVersion and kind. */
  known: boolean;
  valid: boolean;
  errors: string[];
}

export class CrdSchemas {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  private readonly validators = new Map<string, ValidateFunction>();

  /** Adds every served version of a CRD document (already parsed from YAML). Returns the keys added. */
  add(crd: unknown): string[] {
    const spec = asRecord(asRecord(crd)?.spec) ?? {};
    const group = asString(spec.group) ?? '';
    const kind = asString(asRecord(spec.names)?.kind) ?? '';
    const versions = Array.isArray(spec.versions) ? spec.versions : [];
    const added: string[] = [];
    for (const entry of versions) {
      const version = asRecord(entry) ?? {};
      const schema = asRecord(asRecord(version.schema)?.openAPIV3Schema);
      if (version.served !== true || !schema) continue;
      const key = keyOf(`${group}/${asString(version.name) ?? ''}`, kind);
      this.validators.set(key, this.ajv.compile(schema));
      added.push(key);
    }
    return added;
  }

  validate(object: unknown): SchemaCheck {
    const record = asRecord(object) ?? {};
    const validator = this.validators.get(keyOf(asString(record.apiVersion) ?? '', asString(record.kind) ?? ''));
    if (!validator) return { known: false, valid: false, errors: [] };
    if (validator(object)) return { known: true, valid: true, errors: [] };
    const errors = (validator.errors ?? []).map(
      (error) => `${error.instancePath || '(root)'} ${error.message ?? 'is invalid'}`,
    );
    return { known: true, valid: false, errors };
  }
}

function keyOf(apiVersion: string, kind: string): string {
  return `${apiVersion}|${kind}`;
}
