/**
 * Cosign signature discovery and verification for one OCI artifact digest, offline: Sigstore bundles attached
 * as OCI referrers and legacy `sha256-<hex>.sig` signatures, keyless (Fulcio certificate + Rekor, identity
 * matched with Go-regexp semantics) or key-based (the `*.pub` entries of a Secret). sigstore-js does the
 * cryptography against a trust root loaded without network (the public-good root shipped in @sigstore/tuf, or a
 * custom `trusted_root.json`); this module adds the checks it omits (tlog key = signer, codeSigning EKU, the
 * signature names this digest, integrated time within the certificate), caps what it fetches, and reports
 * every candidate's failure reason in one PinwardenError.
 */
export { verifyArtifactSignature, signerPolicy } from './verify.ts';
export type { SignatureRefusal, VerifySignatureOptions } from './verify.ts';
export { readClaims } from './claims.ts';
export { verifyBundleBytes, verifyBundleJson, parseBundleBytes } from './bundle-verify.ts';
export type { BundleOutcome, BundleTarget, SignerPolicy } from './bundle-verify.ts';
export { verifyLegacySignature, legacyToBundleJson, LEGACY_ANNOTATIONS } from './legacy.ts';
export type { LegacySignature } from './legacy.ts';
export { identityPolicy } from './identity.ts';
export type { IdentityPolicy } from './identity.ts';
export { publicKeysFromSecretData, parsePublicKey, keySetId } from './keys.ts';
export type { PublicKeyMaterial } from './keys.ts';
export {
  TRUSTED_ROOT_SECRET_KEY,
  createParsedTrustRoots,
  fixedTrustRootSource,
  parseTrustedRoot,
  publicGoodTrustRoot,
  secretTrustRootSource,
} from './trust-root.ts';
export type { ParsedTrustRoots, TrustRoot, TrustRootSource } from './trust-root.ts';
export { signatureCacheKey, trustIdentityOf } from './cache-key.ts';
export type { CacheKeyOptions } from './cache-key.ts';
export { legacySignatureTag } from './discovery.ts';
export { verifyBlockFromView } from './verify-block.ts';
export { DEFAULT_SIGNATURE_LIMITS } from './types.ts';
export type {
  FailureReason,
  OciVerifyBlock,
  OidcIdentity,
  SecretDataReader,
  SignatureKind,
  SignatureLimits,
  SignerMode,
  VerifiedSignature,
} from './types.ts';
