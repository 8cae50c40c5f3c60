/**
 * Trust the policy owns: which public keys (`trustedKeys`) and Sigstore trusted roots (`trustedRoots`) a
 * tenant's `spec.verify` may bring along, how they are named (fingerprints), what an adapter reports about
 * the Secrets (facts), and the one decision the rules and verifyAtAdmission share.
 */
export { isSha256Name, publicKeyFingerprint, sha256Name, trustedKeyFingerprint } from './fingerprint.ts';
export type { KeySecretFacts, RootSecretFacts, VerifySecretFacts } from './facts.ts';
export { keySetDecision, trustedFingerprints, trustedRootDecision } from './decide.ts';
export type { TrustDecision } from './decide.ts';
