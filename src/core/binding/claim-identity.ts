/**
 * Identity patterns with certificate claims: an `allowedIdentities[]` entry (or `pinwarden verify`'s flags)
 * may constrain, beyond issuer and subject, the claims `sourceRepositoryRef`, `runnerEnvironment` and
 * `buildSignerURI`, each a Go regexp with unanchored MatchString like the rest. Flux's matchOIDCIdentity cannot
 * express them, so only pinwarden's own verification enforces them. One matcher for the signature room and
 * verifyAtAdmission.
 */
import { goRegexMatches } from '../go-regex.ts';
import type { CertificateClaims } from './claims.ts';

export const CLAIM_CONSTRAINTS = ['sourceRepositoryRef', 'runnerEnvironment', 'buildSignerURI'] as const;
export type ClaimConstraintName = (typeof CLAIM_CONSTRAINTS)[number];
export type ClaimConstraints = Partial<Record<ClaimConstraintName, string>>;

export interface IdentityPattern extends ClaimConstraints {
  issuer: string;
  subject: string;
}

/** What the certificate says: issuer, every SAN, and the claims. */
export interface SignerIdentity {
  issuer: string | undefined;
  subjects: readonly string[];
  claims: CertificateClaims;
}

export function constrainsClaims(pattern: ClaimConstraints): boolean {
  return CLAIM_CONSTRAINTS.some((name) => (pattern[name] ?? '') !== '');
}

/** Undefined when the certificate satisfies the pattern, else the first field that does not match. */
export function identityMismatch(pattern: IdentityPattern, signer: SignerIdentity): string | undefined {
  const issuer = signer.issuer ?? '';
  if (pattern.issuer !== '' && !goRegexMatches(pattern.issuer, issuer))
    return `issuer ${signer.issuer ?? '(none)'} does not match ${pattern.issuer}`;
  if (pattern.subject !== '' && !signer.subjects.some((san) => goRegexMatches(pattern.subject, san))) {
    return `no subject of [${signer.subjects.join(', ')}] matches ${pattern.subject}`;
  }
  return claimMismatch(pattern, signer.claims);
}

export function claimMismatch(pattern: ClaimConstraints, claims: CertificateClaims): string | undefined {
  for (const name of CLAIM_CONSTRAINTS) {
    const wanted = pattern[name] ?? '';
    if (wanted === '') continue;
    const value = claims.values[name];
    if (value === undefined) return `the certificate has no ${name} claim (wanted ${wanted})`;
    if (!goRegexMatches(wanted, value)) return `${name} ${value} does not match ${wanted}`;
  }
  return undefined;
}
