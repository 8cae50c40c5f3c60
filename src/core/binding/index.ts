/**
 * Commit binding and certificate-claim rules: pure comparisons between what a verified Fulcio certificate says
 * about the signing workflow (read by the signature room) and what the object or the policy says.
 */
export * from './claims.ts';
export * from './revision.ts';
export * from './source-url.ts';
export * from './commit-binding.ts';
export * from './claim-identity.ts';
export * from './annotations.ts';
