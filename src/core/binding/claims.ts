/**
 * What a Fulcio certificate says about the workflow that signed (OIDs 1.3.6.1.4.1.57264.1.*), as the
 * signature room reads it. Types and labels only: reading DER is the signature room's job, judging the claims
 * (commit binding, claim regexes) is this folder's.
 */

/** The claims pinwarden reads, named as in Fulcio's `certificate.Extensions` (camel case). */
export const CLAIM_NAMES = [
  'issuer',
  'buildSignerURI',
  'buildSignerDigest',
  'runnerEnvironment',
  'sourceRepositoryURI',
  'sourceRepositoryDigest',
  'sourceRepositoryRef',
  'sourceRepositoryIdentifier',
  'sourceRepositoryOwnerURI',
  'sourceRepositoryOwnerIdentifier',
  'buildConfigURI',
  'buildConfigDigest',
  'buildTrigger',
  'runInvocationURI',
  'sourceRepositoryVisibilityAtSigning',
  'deploymentEnvironment',
] as const;
export type ClaimName = (typeof CLAIM_NAMES)[number];

/** Which extension a claim value came from: the DER UTF8String v2 OID, or a deprecated raw-string v1 OID. */
export interface ClaimOrigin {
  oid: string;
  /** Fulcio's name of the extension, e.g. `SourceRepositoryDigest`, or `GitHubWorkflowSHA` for v1. */
  label: string;
  generation: 'v1' | 'v2';
}

export interface CertificateClaims {
  readonly values: Readonly<Partial<Record<ClaimName, string>>>;
  readonly origins: Readonly<Partial<Record<ClaimName, ClaimOrigin>>>;
  /** Malformed, duplicated or contradicting 57264.1.* extensions, and ones this version does not know. */
  readonly problems: readonly string[];
}

export const EMPTY_CLAIMS: CertificateClaims = Object.freeze({
  values: Object.freeze({}),
  origins: Object.freeze({}),
  problems: Object.freeze([]),
});

/** `certificate SourceRepositoryDigest` / `certificate GitHubWorkflowSHA (1.3.6.1.4.1.57264.1.3)`. */
export function describeOrigin(claims: CertificateClaims, name: ClaimName): string {
  const origin = claims.origins[name];
  if (!origin) return `certificate ${name}`;
  return origin.generation === 'v2' ? `certificate ${origin.label}` : `certificate ${origin.label}, ${origin.oid}`;
}
