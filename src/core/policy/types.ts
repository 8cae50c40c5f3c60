/** The SourcePolicy document after defaults are applied. Knob names are the SPEC's, verbatim. */
import type { ClaimConstraints, CommitBindingMode } from '../binding/index.ts';

export type PolicyMode = 'enforce' | 'warn';
export type VerifyProvider = 'cosign' | 'notation';

/** Go regexes; the claim patterns (sourceRepositoryRef, runnerEnvironment, buildSignerURI) need verifyAtAdmission. */
export interface AllowedIdentity extends ClaimConstraints {
  issuer: string;
  subject: string;
}

export interface OciRepositoryPolicy {
  requireVerify: boolean;
  allowedVerifyProviders: VerifyProvider[];
  /** verify.secretRef with cosign public keys; defaults to true exactly when `trustedKeys` lists a key. */
  allowKeyBased: boolean;
  /** Public keys (PEM) or `sha256:<hex>` SPKI fingerprints; every key in a verify.secretRef Secret must be one. */
  trustedKeys: string[];
  /** `sha256:<hex>` of each trusted_root.json a verify.trustedRootSecretRef may hold; empty: public-good only. */
  trustedRoots: string[];
  allowedIdentities: AllowedIdentity[];
  requireDigest: boolean;
  mutate: { tagToDigest: boolean; semverToDigest: boolean };
  pinning: 'sticky' | 'follow';
  allowInsecure: boolean;
  allowedRegistries: string[];
  verifyAtAdmission: boolean;
  /** With verifyAtAdmission: a provider pinwarden cannot verify (notation) is denied, or admitted with a warning. */
  onUnsupportedProvider: 'deny' | 'warn';
  /** Key-based cosign signatures must also have a verified transparency-log entry. */
  requireTlogForKeys: boolean;
  /** Keyless: source/revision annotations must name the signing workflow's repository and commit. */
  commitBinding: CommitBindingMode;
}

export interface BucketPolicy {
  requireIgnore: boolean;
  allowInsecure: boolean;
}

export interface RegistryPolicy {
  timeoutSeconds: number;
  cacheTTLSeconds: number;
  onUnreachable: 'deny' | 'warn';
  /** CIDRs the webhook may contact even when they are loopback, link-local, private or otherwise special. */
  allowNetworks: string[];
  /** CIDRs the webhook never contacts (the cluster's pod and service ranges); wins over allowNetworks. */
  denyNetworks: string[];
}

export interface PolicySpec {
  mode: PolicyMode;
  exemptNamespaces: string[];
  ociRepository: OciRepositoryPolicy;
  bucket: BucketPolicy;
  registry: RegistryPolicy;
}

export interface SourcePolicy {
  apiVersion: 'pinwarden.dev/v1alpha1';
  kind: 'SourcePolicy';
  metadata: { name: string; generation?: number };
  spec: PolicySpec;
}
