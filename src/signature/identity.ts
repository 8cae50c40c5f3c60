/**
 * Keyless identity policy with Flux/cosign semantics: each (issuer, subject) pair is a pair of Go regexps
 * evaluated with re2js `.test` (= Go's unanchored `MatchString`, never JS RegExp); the subject may match any
 * SAN; an empty pattern is no constraint; pairs are OR-ed. Zero pairs is refused unless the caller says
 * explicitly that any identity is acceptable (that decision belongs to the policy rules upstream).
 */
import { RE2JS } from 're2js';
import { PinwardenError } from '../core/errors.ts';
import type { CertificateFacts } from './certificate.ts';
import type { OidcIdentity } from './types.ts';

interface CompiledIdentity {
  issuer: string;
  subject: string;
  issuerRe: RE2JS | undefined;
  subjectRe: RE2JS | undefined;
}

export interface IdentityPolicy {
  readonly identities: readonly CompiledIdentity[];
  readonly allowAnyIdentity: boolean;
}

/** Compiles up front so a malformed pattern fails before any registry call (cosign's wording). */
export function identityPolicy(identities: readonly OidcIdentity[], allowAnyIdentity = false): IdentityPolicy {
  if (identities.length === 0 && !allowAnyIdentity) {
    throw new PinwardenError('PW_IDENTITY_MISMATCH', 'no identities configured: keyless verification needs at least one matchOIDCIdentity entry');
  }
  return {
    identities: identities.map((identity) => ({
      issuer: identity.issuer,
      subject: identity.subject,
      issuerRe: compileGoRegexp(identity.issuer, 'issuer'),
      subjectRe: compileGoRegexp(identity.subject, 'subject'),
    })),
    allowAnyIdentity,
  };
}

function compileGoRegexp(pattern: string, field: 'issuer' | 'subject'): RE2JS | undefined {
  if (pattern === '') return undefined;
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    throw new PinwardenError('PW_INPUT_INVALID', `malformed ${field} in identity: ${pattern} : ${(error as Error).message}`);
  }
}

/** Go `regexp.MatchString`: true when any substring matches. */
export function goMatchString(pattern: string, value: string): boolean {
  return RE2JS.compile(pattern).test(value);
}

export function assertIdentityAllowed(policy: IdentityPolicy, facts: Pick<CertificateFacts, 'issuer' | 'subjects'>): void {
  if (policy.identities.length === 0 && policy.allowAnyIdentity) return;
  const issuer = facts.issuer ?? '';
  const matched = policy.identities.some(
    (identity) =>
      (identity.issuerRe === undefined || identity.issuerRe.test(issuer)) &&
      (identity.subjectRe === undefined || facts.subjects.some((san) => identity.subjectRe!.test(san))),
  );
  if (matched) return;
  throw new PinwardenError(
    'PW_IDENTITY_MISMATCH',
    `none of the expected identities matched what was in the certificate, got subjects [${facts.subjects.join(', ')}] with issuer ${facts.issuer ?? '(none)'}`,
  );
}
