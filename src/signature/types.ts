/**
 * Shapes shared by the signature module: the Flux `spec.verify` block, the seams the webhook/controller plug
 * kube Secrets into, the options and limits of one verification, and what a successful verification proves.
 */
import type { CertificateClaims, ClaimConstraints } from '../core/binding/index.ts';
import type { ErrorCode, SignatureReason } from '../core/errors.ts';
import type { Call, Digest } from '../oci/index.ts';

/** `OCIRepository.spec.verify` (source.toolkit.fluxcd.io v1), as far as cosign needs it. */
export interface OciVerifyBlock {
  provider: string;
  secretRef?: { name: string };
  matchOIDCIdentity?: readonly OidcIdentity[];
  trustedRootSecretRef?: { name: string };
}

/**
 * Go regexps (RE2, unanchored `MatchString`); an empty string means "no constraint" as in cosign. The claim
 * patterns (`sourceRepositoryRef`, `runnerEnvironment`, `buildSignerURI`) are pinwarden's: Flux's
 * matchOIDCIdentity has only issuer and subject; the CLI flags and the policy's allowedIdentities set them.
 */
export interface OidcIdentity extends ClaimConstraints {
  issuer: string;
  subject: string;
}

/**
 * Reads a Secret's data by name (values already base64-decoded to text), in the namespace of the object
 * being verified. The kube adapter implements it; tests and the CLI pass a plain map.
 */
export type SecretDataReader = (name: string, call: Call) => Promise<Readonly<Record<string, string>>>;

/** Hard caps on what one verification may fetch; defaults in DEFAULT_SIGNATURE_LIMITS. */
export interface SignatureLimits {
  /** Signature candidates tried in total (bundle referrers + legacy layers). */
  maxCandidates: number;
  maxManifestBytes: number;
  /** Legacy simple-signing payload blob. */
  maxPayloadBytes: number;
  /** Sigstore bundle blob attached as a referrer layer. */
  maxBundleBytes: number;
}

export const DEFAULT_SIGNATURE_LIMITS: SignatureLimits = {
  maxCandidates: 16,
  maxManifestBytes: 1024 * 1024,
  maxPayloadBytes: 64 * 1024,
  maxBundleBytes: 256 * 1024,
};

export type SignatureKind = 'legacy' | 'bundle';
export type SignerMode = 'keyless' | 'key';

/** What a successful verification proves about the artifact. */
export interface VerifiedSignature {
  kind: SignatureKind;
  mode: SignerMode;
  /** The artifact digest the signature was checked against. */
  digest: Digest;
  /** Keyless: OIDC issuer from the Fulcio certificate (extension 57264.1.8, else 57264.1.1). */
  issuer?: string;
  /** Keyless: every SAN of the leaf (URI, email, DNS, IP, Fulcio username otherName). */
  subjects: string[];
  /** Keyless: the Fulcio workflow claims of the leaf (repository, commit, ref, runner…), and any problem reading them. */
  claims?: CertificateClaims;
  /** Key-based: the Secret entry (e.g. `cosign.pub`) whose key verified. */
  keyName?: string;
  /** Transparency log index and integrated time, when a tlog entry was verified. */
  logIndex?: string;
  integratedTime?: Date;
  /** Where the signature came from: the bundle referrer manifest, or the legacy payload layer. */
  source: Digest;
}

/** One reason a candidate (or a discovery step) failed; collected into the final error. */
export interface FailureReason {
  /** e.g. `bundle sha256:…` or `legacy sha256-<hex>.sig layer 0`. */
  candidate: string;
  code: ErrorCode;
  /** The reason sub-code of a signature failure (TLOG_BODY_ERROR, CERTIFICATE_ERROR, …). */
  subCode?: SignatureReason;
  message: string;
}
