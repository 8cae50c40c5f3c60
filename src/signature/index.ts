/**
 * Cosign signature discovery and verification for one OCI artifact digest, offline: Sigstore bundles attached
 * as OCI referrers and legacy `sha256-<hex>.sig` signatures, keyless (Fulcio certificate + Rekor, identity
 * matched with Go-regexp semantics) or key-based (the `*.pub` entries of a Secret). sigstore-js does the
 * cryptography against a trust root loaded without network (the public-good root shipped in @sigstore/tuf, or a
 * custom `trusted_root.json`); this module adds the checks it omits (tlog key = signer, codeSigning EKU, the
 * signature names this digest, integrated time within the certificate), caps what it fetches, and reports
 * every candidate's failure reason in one PinwardenError.
 */
export * from './verify.ts';
export * from './claims.ts';
export { verifyBundleBytes, verifyBundleJson, parseBundleBytes } from './bundle-verify.ts';
export type { BundleOutcome, BundleTarget, SignerPolicy } from './bundle-verify.ts';
export * from './legacy.ts';
export { identityPolicy } from './identity.ts';
export type { IdentityPolicy } from './identity.ts';
export { publicKeysFromSecretData, parsePublicKey, keySetId } from './keys.ts';
export type { PublicKeyMaterial } from './keys.ts';
export * from './trust-root.ts';
export * from './cache-key.ts';
export { legacySignatureTag } from './discovery.ts';
export * from './verify-block.ts';
export * from './types.ts';
