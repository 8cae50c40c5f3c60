/**
 * Commit binding and certificate-claim rules: pure comparisons between what a verified Fulcio certificate says
 * about the signing workflow (read by the signature room) and what the object or the policy says.
 */
export { CLAIM_NAMES, EMPTY_CLAIMS, describeOrigin } from './claims.ts';
export type { CertificateClaims, ClaimName, ClaimOrigin } from './claims.ts';
export { MAX_REVISION_LENGTH, parseRevision, refsAgree } from './revision.ts';
export type { ParsedRevision } from './revision.ts';
export { MAX_SOURCE_LENGTH, normalizeSourceUrl, redactSourceUrl } from './source-url.ts';
export type { NormalizedSource } from './source-url.ts';
export {
  COMMIT_BINDING_ANNOTATION,
  COMMIT_BINDING_MODES,
  REVISION_ANNOTATION,
  SOURCE_ANNOTATION,
  abbreviateCommits,
  bindingDecision,
  checkCommitBinding,
  describeBound,
  effectiveBindingMode,
} from './commit-binding.ts';
export type { BindingCheck, BindingDecision, BindingSigner, CommitBindingMode } from './commit-binding.ts';
export { CLAIM_CONSTRAINTS, claimMismatch, constrainsClaims, identityMismatch } from './claim-identity.ts';
export type { ClaimConstraintName, ClaimConstraints, IdentityPattern, SignerIdentity } from './claim-identity.ts';
export { commitBindingAnnotation, manifestAnnotations } from './annotations.ts';
