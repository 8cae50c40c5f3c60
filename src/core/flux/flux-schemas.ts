/**
 * `schema-invalid`: validates a governed object against the Flux CRD schema of its apiVersion, as the
 * apiserver (or kubeconform) would, before the policy rules run. The schemas are the openAPIV3Schema of each
 * served OCIRepository and Bucket version, derived from the Flux CRDs by scripts/flux-schemas.ts into
 * flux-source-schemas.json (shipped: `check` runs in CI without the CRDs at hand). Patterns run on RE2
 * (re2js), like every regex pinwarden evaluates on input. Compiled once, on first use.
 */
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import type { Finding } from '../findings.ts';
import { freshString } from '../fresh-string.ts';
import { RE2JS } from 're2js';
import { asRecord, asString } from './objects.ts';
import derived from './flux-source-schemas.json' with { type: 'json' };

export const SCHEMA_RULE = {
  id: 'schema-invalid',
  summary: 'The object does not match the Flux CRD schema of its apiVersion (the apiserver would reject it).',
  severity: 'error',
} as const;

/** At most this many schema errors are reported per object: the first ones say what is wrong. */
const MAX_ERRORS = 10;

let validators: Map<string, ValidateFunction> | undefined;

type RegExpEngine = NonNullable<NonNullable<Options['code']>['regExp']>;

/** Per pattern, the results of this many recent short values are kept: intervals, timeouts, names repeat. */
const RECENT_VALUES = 256;
const RECENT_VALUE_CHARS = 64;

/**
 * Kubernetes checks OpenAPI patterns with Go's regexp: RE2 semantics, so re2js (linear time, no backtracking),
 * compiled once per pattern. Not core/go-regex's matcher: that one builds automata for inclusion proofs and
 * allocates per match, which a 10,000-file `check` under a small heap cannot afford (measured).
 * `test()` is an unanchored search like `matcher().find()`, without a Matcher per call (3-8x cheaper); the
 * results of recent short values are remembered (keys are fresh copies: a memo must not pin input files).
 * ajv caches compiled patterns under toString(): it must be the pattern, or every pattern shares one entry.
 */
const re2Engine: RegExpEngine = Object.assign(
  (pattern: string) => {
    const compiledPattern = RE2JS.compile(pattern);
    const recent = new Map<string, boolean>();
    const test = (value: string): boolean => {
      if (value.length > RECENT_VALUE_CHARS) return compiledPattern.test(value);
      const known = recent.get(value);
      if (known !== undefined) return known;
      const matched = compiledPattern.test(value);
      if (recent.size >= RECENT_VALUES) recent.clear();
      recent.set(freshString(value), matched);
      return matched;
    };
    return { test, toString: () => `re2:${pattern}` };
  },
  { code: 're2js' },
);

function compiled(): Map<string, ValidateFunction> {
  if (validators) return validators;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, code: { regExp: re2Engine } });
  validators = new Map();
  for (const version of derived.versions) {
    validators.set(`${version.apiVersion}|${version.kind}`, ajv.compile(version.openAPIV3Schema as object));
  }
  return validators;
}

/** The apiVersion|kind pairs a schema is shipped for. */
export function schemaKeys(): string[] {
  return derived.versions.map((version) => `${version.apiVersion}|${version.kind}`);
}

/** Schema violations as findings (path in field-path form, e.g. spec.url); undefined when no schema is shipped for the object. */
export function schemaFindings(object: unknown): Omit<Finding, 'severity'>[] | undefined {
  const record = asRecord(object) ?? {};
  const apiVersion = asString(record.apiVersion) ?? '';
  const kind = asString(record.kind) ?? '';
  const validate = compiled().get(`${apiVersion}|${kind}`);
  if (!validate) return undefined;
  if (validate(object)) return [];
  const seen = new Set<string>();
  const findings: Omit<Finding, 'severity'>[] = [];
  for (const error of validate.errors ?? []) {
    const finding = toFinding(error, `${kind} ${apiVersion}`);
    const key = `${finding.path}|${finding.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push(finding);
    if (findings.length >= MAX_ERRORS) break;
  }
  return findings;
}

function toFinding(error: ErrorObject, schemaName: string): Omit<Finding, 'severity'> {
  const base = fieldPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  const crd = `the ${schemaName} CRD schema`;
  if (error.keyword === 'required') {
    const missing = String(params.missingProperty);
    const path = base === '' ? missing : `${base}.${missing}`;
    return { ruleId: SCHEMA_RULE.id, path, message: `${path} is required by ${crd}`, fix: `set ${path}` };
  }
  const path = base === '' ? '(object)' : base;
  if (error.keyword === 'enum') {
    const allowed = Array.isArray(params.allowedValues)
      ? params.allowedValues.map((value) => JSON.stringify(value)).join(', ')
      : '';
    return {
      ruleId: SCHEMA_RULE.id,
      path,
      message: `${path} must be one of ${allowed} (${crd})`,
      fix: `set ${path} to one of ${allowed}`,
    };
  }
  if (error.keyword === 'pattern') {
    return {
      ruleId: SCHEMA_RULE.id,
      path,
      message: `${path} must match ${String(params.pattern)} (${crd})`,
      fix: `write ${path} in the form ${String(params.pattern)} describes`,
    };
  }
  return {
    ruleId: SCHEMA_RULE.id,
    path,
    message: `${path} ${error.message ?? 'is invalid'} (${crd})`,
    fix: `correct ${path} to match ${crd}`,
  };
}

/** JSON Pointer (/spec/verify/matchOIDCIdentity/0/subject) to field path (spec.verify.matchOIDCIdentity[0].subject). */
function fieldPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(segment) ? `[${segment}]` : out === '' ? segment : `.${segment}`;
  }
  return out;
}
