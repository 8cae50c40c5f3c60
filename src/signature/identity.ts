/**
 * Keyless identity policy with Flux/cosign semantics: each (issuer, subject) pair is a pair of Go regexps
 * evaluated by core/go-regex (re2js `.test` = Go's unanchored `MatchString`, never JS RegExp); the subject
 * may match any SAN; an empty pattern is no constraint; pairs are OR-ed. Zero pairs is refused unless the caller says
 * explicitly that any identity is acceptable (that decision belongs to the policy rules upstream).
 */
import { CLAIM_CONSTRAINTS, EMPTY_CLAIMS, identityMismatch } from '../core/binding/index.ts';
import type { ClaimConstraintName } from '../core/binding/index.ts';
import { PinwardenError } from '../core/errors.ts';
import { goRegexSyntaxError } from '../core/go-regex.ts';
import type { CertificateFacts } from './certificate.ts';
import type { OidcIdentity } from './types.ts';
import { signatureError } from './failure.ts';

export interface IdentityPolicy {
  readonly identities: readonly OidcIdentity[];
  readonly allowAnyIdentity: boolean;
}

/** Checks every pattern up front so a malformed one fails before any registry call (cosign's wording). */
export function identityPolicy(identities: readonly OidcIdentity[], allowAnyIdentity = false): IdentityPolicy {
  if (identities.length === 0 && !allowAnyIdentity) {
    throw signatureError(
      'IDENTITY_ERROR',
      'no identities configured: keyless verification needs at least one matchOIDCIdentity entry',
      'PW_IDENTITY_MISMATCH',
    );
  }
  for (const identity of identities) {
    assertGoRegexp(identity.issuer, 'issuer');
    assertGoRegexp(identity.subject, 'subject');
    for (const claim of CLAIM_CONSTRAINTS) assertGoRegexp(identity[claim] ?? '', claim);
  }
  return { identities: identities.map(copyIdentity), allowAnyIdentity };
}

function copyIdentity(identity: OidcIdentity): OidcIdentity {
  const claims = CLAIM_CONSTRAINTS.flatMap((name) =>
    (identity[name] ?? '') !== '' ? [[name, identity[name]!] as const] : [],
  );
  return { issuer: identity.issuer, subject: identity.subject, ...Object.fromEntries(claims) };
}

function assertGoRegexp(pattern: string, field: 'issuer' | 'subject' | ClaimConstraintName): void {
  const error = pattern === '' ? undefined : goRegexSyntaxError(pattern);
  if (error !== undefined)
    throw new PinwardenError('PW_INPUT_INVALID', `malformed ${field} in identity: ${pattern} : ${error}`);
}

/**
 * Some identity must match in full: issuer, one SAN, and every claim pattern it sets (core/binding's matcher:
 * empty = no constraint, Go's unanchored MatchString, an absent claim fails its constraint).
 */
export function assertIdentityAllowed(
  policy: IdentityPolicy,
  facts: Pick<CertificateFacts, 'issuer' | 'subjects'> & Partial<Pick<CertificateFacts, 'claims'>>,
): void {
  if (policy.identities.length === 0 && policy.allowAnyIdentity) return;
  const signer = { issuer: facts.issuer, subjects: facts.subjects, claims: facts.claims ?? EMPTY_CLAIMS };
  const misses = policy.identities.map((identity) => identityMismatch(identity, signer));
  if (misses.some((miss) => miss === undefined)) return;
  // Only claim failures (issuer and subject matched) get their own words: the classic text stays cosign's.
  const claimMiss = misses.find(
    (miss, index) =>
      miss !== undefined && identityMismatch({ ...policy.identities[index]!, ...NO_CLAIMS }, signer) === undefined,
  );
  throw signatureError(
    'IDENTITY_ERROR',
    `none of the expected identities matched what was in the certificate, got subjects [${facts.subjects.join(', ')}] with issuer ${facts.issuer ?? '(none)'}${claimMiss ? ` (${claimMiss})` : ''}`,
    'PW_IDENTITY_MISMATCH',
  );
}

const NO_CLAIMS = Object.fromEntries(CLAIM_CONSTRAINTS.map((name) => [name, ''])) as Record<
  ClaimConstraintName,
  string
>;
