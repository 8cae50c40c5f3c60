/**
 * Keyless identity policy with Flux/cosign semantics: each (issuer, subject) pair is a pair of Go regexps
 * evaluated by core/go-regex (re2js `.test` = Go's unanchored `MatchString`, never JS RegExp); the subject
 * may match any SAN; an empty pattern is no constraint; pairs are OR-ed. Zero pairs is refused unless the caller says
 * explicitly that any identity is acceptable (that decision belongs to the policy rules upstream).
 */
import { PinwardenError } from '../core/errors.ts';
import { goRegexMatches, goRegexSyntaxError } from '../core/go-regex.ts';
import type { CertificateFacts } from './certificate.ts';
import type { OidcIdentity } from './types.ts';

export interface IdentityPolicy {
  readonly identities: readonly OidcIdentity[];
  readonly allowAnyIdentity: boolean;
}

/** Checks every pattern up front so a malformed one fails before any registry call (cosign's wording). */
export function identityPolicy(identities: readonly OidcIdentity[], allowAnyIdentity = false): IdentityPolicy {
  if (identities.length === 0 && !allowAnyIdentity) {
    throw new PinwardenError('PW_IDENTITY_MISMATCH', 'no identities configured: keyless verification needs at least one matchOIDCIdentity entry');
  }
  for (const identity of identities) {
    assertGoRegexp(identity.issuer, 'issuer');
    assertGoRegexp(identity.subject, 'subject');
  }
  return { identities: identities.map(({ issuer, subject }) => ({ issuer, subject })), allowAnyIdentity };
}

function assertGoRegexp(pattern: string, field: 'issuer' | 'subject'): void {
  const error = pattern === '' ? undefined : goRegexSyntaxError(pattern);
  if (error !== undefined) throw new PinwardenError('PW_INPUT_INVALID', `malformed ${field} in identity: ${pattern} : ${error}`);
}

/** An empty pattern is no constraint (cosign's legacy path); otherwise Go's unanchored MatchString. */
function constrains(pattern: string, value: string): boolean {
  return pattern === '' || goRegexMatches(pattern, value);
}

export function assertIdentityAllowed(policy: IdentityPolicy, facts: Pick<CertificateFacts, 'issuer' | 'subjects'>): void {
  if (policy.identities.length === 0 && policy.allowAnyIdentity) return;
  const issuer = facts.issuer ?? '';
  const matched = policy.identities.some(
    (identity) => constrains(identity.issuer, issuer) && (identity.subject === '' || facts.subjects.some((san) => constrains(identity.subject, san))),
  );
  if (matched) return;
  throw new PinwardenError(
    'PW_IDENTITY_MISMATCH',
    `none of the expected identities matched what was in the certificate, got subjects [${facts.subjects.join(', ')}] with issuer ${facts.issuer ?? '(none)'}`,
  );
}
