/**
 * The SourcePolicy: its TypeScript shape, the JSON Schema that documents and validates it, and the loader
 * that turns YAML/JSON text into a policy with secure defaults (or a PW_POLICY_INVALID naming the field).
 */
export type * from './types.ts';
export { defaultPolicy, describeSchemaError, loadPolicy, toFieldPath } from './load-policy.ts';
export { default as sourcePolicySchema } from './source-policy.schema.json' with { type: 'json' };
export { parseCidr } from '../network/index.ts';
export type { Cidr } from '../network/index.ts';
export { DEFAULT_RULE_NAME, matchesEverything } from './rules.ts';
export { default as sourcePolicyExceptionSchema } from './source-policy-exception.schema.json' with { type: 'json' };
export { excusedAsUnreachable } from './on-unreachable.ts';
