/**
 * The pull path on its own: `verifyWithChecks` (verify a digest with the commit binding and claim patterns)
 * and `pullArtifact` (fetch by digest, verify, extract). `flows/index.ts` re-exports all of it; `pinwarden
 * pull` and `pinwarden verify` import this entry instead, so a cold CLI run does not load the admission flow
 * (rules, policy loader, resolver) that it never calls (BENCHMARKS.md, `pinwarden pull`).
 */
export { admissionChecks, artifactAnnotations, bindingOf, signatureJudge, verifyWithChecks } from './binding.ts';
export type { SignatureChecks, SignatureVerifier } from './binding.ts';
export { pullArtifact } from './pull.ts';
export type { LayerSelector, PullArtifactRequest, PullVerification, PulledArtifact } from './pull.ts';
