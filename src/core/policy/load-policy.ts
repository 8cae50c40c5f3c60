/**
 * Reads a SourcePolicy from YAML/JSON text: ajv (strict, allErrors) validates it against the schema file,
 * fills secure defaults, and every identity regex must compile as Go RE2. Any problem is one
 * PW_POLICY_INVALID error that names the field (and its line when the text has one).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import { PinwardenError } from '../errors.ts';
import { CLAIM_CONSTRAINTS } from '../binding/index.ts';
import { goRegexSyntaxError } from '../go-regex.ts';
import { trustedKeyFingerprint } from '../trust/fingerprint.ts';
import { parseCidr } from '../network/index.ts';
import { assertRules, flatBlocksWritten } from './rules.ts';
import schema from './source-policy.schema.json' with { type: 'json' };
import type { SourcePolicy } from './types.ts';

let compiled: ValidateFunction<SourcePolicy> | undefined;
/** Compiled on first use: commands that never read a policy (`pull`, `verify`) do not pay for it at start-up. */
function policyValidator(): ValidateFunction<SourcePolicy> {
  compiled ??= new Ajv({ strict: true, allErrors: true, useDefaults: true }).compile<SourcePolicy>(schema);
  return compiled;
}

/** The policy used when none is given: every default, no keyless identity allowed. */
export function defaultPolicy(): SourcePolicy {
  return loadPolicy('apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: default}\n', '<default>');
}

export function loadPolicy(text: string, sourceName: string): SourcePolicy {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntaxError = document.errors[0];
  if (syntaxError) {
    const line = lineCounter.linePos(syntaxError.pos[0]).line;
    throw policyError(`${sourceName}:${line}: not valid YAML: ${firstLine(syntaxError.message)}`, sourceName, line);
  }
  let candidate: unknown;
  try {
    candidate = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw policyError(`${sourceName}: not usable YAML: ${firstLine(reason)}`, sourceName);
  }
  const flatWritten = flatBlocksWritten(candidate);
  const validate = policyValidator();
  if (!validate(candidate)) {
    const problems = (validate.errors ?? []).map((error) => describeSchemaError(error, document.contents, lineCounter));
    throw policyError(`${sourceName}: invalid policy: ${problems.join('; ')}`, sourceName);
  }
  assertIdentityRegexes(candidate, sourceName);
  applyKeyTrust(candidate, sourceName);
  assertNetworks(candidate, sourceName);
  // spec.rules[]: each rule's blocks get the flat blocks' own checks (src/core/policy/rules.ts).
  assertRules(candidate, sourceName, flatWritten, (view) => {
    assertIdentityRegexes(view, sourceName);
    applyKeyTrust(view, sourceName);
  });
  return candidate;
}

/** How to migrate, part of the error (documented in README "Policy reference"). */
const KEY_TRUST_MIGRATION =
  'list the accepted keys in spec.ociRepository.trustedKeys (PEM, or sha256:<hex> of the DER SubjectPublicKeyInfo: ' +
  'openssl pkey -pubin -in cosign.pub -outform DER | sha256sum), or set allowKeyBased: false; see README "Policy reference"';

/**
 * Key-based verification means nothing unless the policy names the keys: a tenant can put a key of their own
 * in the Secret that `verify.secretRef` names. So `allowKeyBased` defaults to "trustedKeys lists a key", and an
 * explicit `true` without any trusted key is refused with the migration, not silently narrowed.
 */
function applyKeyTrust(policy: SourcePolicy, sourceName: string): void {
  const settings = policy.spec.ociRepository as Omit<SourcePolicy['spec']['ociRepository'], 'allowKeyBased'> & {
    allowKeyBased?: boolean;
  };
  const problems = settings.trustedKeys.flatMap((entry, index) =>
    trustedKeyFingerprint(entry) === undefined
      ? [
          `spec.ociRepository.trustedKeys[${index}]: neither sha256:<64 lowercase hex> nor a PEM public key (ECDSA, RSA, Ed25519)`,
        ]
      : [],
  );
  if (settings.allowKeyBased === true && settings.trustedKeys.length === 0) {
    problems.push(
      'spec.ociRepository.allowKeyBased: true needs spec.ociRepository.trustedKeys: without it any key a tenant puts in the ' +
        `Secret that verify.secretRef names would count as verified; ${KEY_TRUST_MIGRATION}`,
    );
  }
  if (problems.length > 0) throw policyError(`${sourceName}: invalid policy: ${problems.join('; ')}`, sourceName);
  settings.allowKeyBased ??= settings.trustedKeys.length > 0;
}

function assertNetworks(policy: SourcePolicy, sourceName: string): void {
  const problems: string[] = [];
  for (const field of ['allowNetworks', 'denyNetworks'] as const) {
    policy.spec.registry[field].forEach((cidr, index) => {
      if (!parseCidr(cidr))
        problems.push(`spec.registry.${field}[${index}]: '${cidr}' is not an IPv4 or IPv6 CIDR (address/prefix)`);
    });
  }
  if (problems.length > 0) throw policyError(`${sourceName}: invalid policy: ${problems.join('; ')}`, sourceName);
}

function assertIdentityRegexes(policy: SourcePolicy, sourceName: string): void {
  const problems: string[] = [];
  const settings = policy.spec.ociRepository;
  settings.allowedIdentities.forEach((identity, index) => {
    for (const field of ['issuer', 'subject', ...CLAIM_CONSTRAINTS] as const) {
      const pattern = identity[field];
      const message = pattern === undefined ? undefined : goRegexSyntaxError(pattern);
      if (message) problems.push(`spec.ociRepository.allowedIdentities[${index}].${field}: ${message}`);
    }
    const claims = CLAIM_CONSTRAINTS.filter((field) => identity[field] !== undefined);
    if (claims.length > 0 && (!settings.verifyAtAdmission || !settings.requireDigest)) {
      const missing = [
        settings.verifyAtAdmission ? undefined : 'verifyAtAdmission: true',
        settings.requireDigest ? undefined : 'requireDigest: true',
      ]
        .filter(Boolean)
        .join(' and ');
      problems.push(
        `spec.ociRepository.allowedIdentities[${index}].${claims[0]}: certificate claim patterns need spec.ociRepository.${missing}. ` +
          "Flux's matchOIDCIdentity has only issuer and subject, so Flux would accept any " +
          `${claims.join(', ')}; only pinwarden's own verification of the pinned digest can enforce them`,
      );
    }
  });
  if (problems.length > 0) {
    throw policyError(`${sourceName}: invalid policy: ${problems.join('; ')}`, sourceName);
  }
}

export function describeSchemaError(error: ErrorObject, root: unknown, lineCounter: LineCounter): string {
  const segments = error.instancePath.split('/').slice(1).map(decodePointerSegment);
  let field = toFieldPath(segments);
  let detail = error.message ?? 'is invalid';
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty);
    field = toFieldPath([...segments, extra]);
    detail = 'unknown field';
  } else if (error.keyword === 'enum') {
    detail = `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ')}`;
  } else if (error.keyword === 'const') {
    detail = `must be ${String((error.params as { allowedValue: unknown }).allowedValue)}`;
  }
  const line = lineOf(root, segments, lineCounter);
  return `${field || '(document)'}${line ? ` (line ${line})` : ''}: ${detail}`;
}

function decodePointerSegment(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

export function toFieldPath(segments: readonly (string | number)[]): string {
  return segments.reduce<string>((path, segment) => {
    if (typeof segment === 'number' || /^\d+$/.test(segment)) return `${path}[${segment}]`;
    return path ? `${path}.${segment}` : segment;
  }, '');
}

function lineOf(root: unknown, segments: readonly string[], lineCounter: LineCounter): number | undefined {
  let node = root as Node | null | undefined;
  for (const segment of segments) {
    const next: unknown =
      isMap(node) || isSeq(node) ? node.get(isSeq(node) ? Number(segment) : segment, true) : undefined;
    if (next === undefined || next === null) break;
    node = next as Node;
  }
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}

function policyError(message: string, file: string, line?: number): PinwardenError {
  return new PinwardenError('PW_POLICY_INVALID', message, { details: { file, ...(line ? { line } : {}) } });
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
