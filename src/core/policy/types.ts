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
  /** Cluster SourcePolicy objects combine higher first, then by name (src/core/policy-set); absent: 0. */
  priority?: number;
  mode: PolicyMode;
  exemptNamespaces: string[];
  ociRepository: OciRepositoryPolicy;
  bucket: BucketPolicy;
  registry: RegistryPolicy;
  /** Rules scoped per source (src/core/scope); absent: spec.ociRepository / spec.bucket decide every object. */
  rules?: PolicyRule[];
  /**
   * Set only on a policy combined from cluster SourcePolicy objects (src/core/policy-set): where each
   * spec.rules entry is written (`SourcePolicy/team-a spec.rules[0]`), so verdicts name the object to edit.
   */
  ruleSources?: string[];
  /** Set only on the effective policy `selectRule` hands out: the rule it was made from (never in a file). */
  decidedBy?: DecidingRule;
}

export interface SourcePolicy {
  apiVersion: 'pinwarden.dev/v1alpha1';
  kind: 'SourcePolicy';
  metadata: { name: string; generation?: number };
  spec: PolicySpec;
}

/** A Kubernetes label selector (matchLabels AND matchExpressions). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

/** Which objects a rule decides: every field given must fit; absent or empty, every object. */
export interface RuleMatch {
  /** OCIRepository spec.url prefixes on path boundaries. */
  urls?: string[];
  namespaces?: string[];
  /** Labels of the object's Namespace. */
  namespaceSelector?: LabelSelector;
  /** Labels of the object. */
  selector?: LabelSelector;
}

/** One entry of `spec.rules`: the requirements reuse the flat blocks' types, defaults and checks. */
export interface PolicyRule {
  name: string;
  description?: string;
  match?: RuleMatch;
  ociRepository: OciRepositoryPolicy;
  bucket: BucketPolicy;
  registry?: Partial<Pick<RegistryPolicy, 'timeoutSeconds' | 'onUnreachable'>>;
}

/** The rule that decided an object: its name and where it is written (`spec.rules[2]`, or the flat blocks). */
export interface DecidingRule {
  name: string;
  /** `spec.rules[N]`, or `spec` when the flat spec.ociRepository / spec.bucket decided (the rule named default). */
  source: string;
  /** Earlier rules passed over because they select by namespace labels that were unknown here. */
  unjudged?: string[];
}
