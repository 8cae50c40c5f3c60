/**
 * SourcePolicies for control-plane tests, and the OCIRepository objects they admit.
 *
 * Loopback registries are special-use addresses the SSRF guard refuses, so every policy here lets the
 * webhook reach them: `registry.allowNetworks: ["127.0.0.0/8", "::1/128"]`. Key-based verification is left
 * off (`allowKeyBased: false`): turning it on needs `trustedKeys`, otherwise the policy is invalid.
 */
export const TEST_ISSUER = 'https://token.actions.githubusercontent.com';
export const TEST_SUBJECT = 'https://github.com/acme/fleet/.github/workflows/release.yml@refs/tags/v1.0.0';

export interface LoopbackPolicyOptions {
  mode?: 'enforce' | 'warn';
  semverToDigest?: boolean;
  tagToDigest?: boolean;
  pinning?: 'sticky' | 'follow';
  exemptNamespaces?: string[];
  /** registry.timeoutSeconds (default 2). */
  registryTimeoutSeconds?: number;
  onUnreachable?: 'deny' | 'warn';
  requireDigest?: boolean;
  /** More `host:port` registries to allow besides `registryHost`. */
  extraRegistries?: string[];
}

/** Admits keyless-verified OCIRepositories from `registryHost` (`127.0.0.1:PORT`), pinned to a digest. */
export function loopbackPolicy(registryHost: string, options: LoopbackPolicyOptions = {}): string {
  return `apiVersion: pinwarden.dev/v1alpha1
kind: SourcePolicy
metadata:
  name: cluster-test
spec:
  mode: ${options.mode ?? 'enforce'}
  exemptNamespaces: ${JSON.stringify(options.exemptNamespaces ?? ['sandbox'])}
  ociRepository:
    requireVerify: true
    allowKeyBased: false
    allowedIdentities:
      - issuer: '^https://token\\.actions\\.githubusercontent\\.com$'
        subject: '^https://github\\.com/acme/'
    allowedRegistries: ${JSON.stringify([registryHost, ...(options.extraRegistries ?? [])].map((host) => `oci://${host}/`))}
    requireDigest: ${options.requireDigest ?? true}
    mutate: {tagToDigest: ${options.tagToDigest ?? true}, semverToDigest: ${options.semverToDigest ?? true}}
    pinning: ${options.pinning ?? 'sticky'}
  bucket: {requireIgnore: true}
  registry:
    timeoutSeconds: ${options.registryTimeoutSeconds ?? 2}
    onUnreachable: ${options.onUnreachable ?? 'deny'}
    allowNetworks: ["127.0.0.0/8", "::1/128"]
`;
}

export interface OciRepositoryOptions {
  name: string;
  namespace?: string;
  url: string;
  ref?: Record<string, string>;
  apiVersion?: string;
  /** Replace the verify block (null: none). */
  verify?: Record<string, unknown> | null;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  extraSpec?: Record<string, unknown>;
}

/** An OCIRepository with a keyless verify block the loopback policy allows. */
export function ociRepositoryObject(options: OciRepositoryOptions): Record<string, unknown> {
  const verify =
    options.verify === undefined
      ? {
          provider: 'cosign',
          matchOIDCIdentity: [
            {
              issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
              subject: '^https://github\\.com/acme/fleet/\\.github/workflows/release\\.yml@refs/tags/v',
            },
          ],
        }
      : options.verify;
  const metadata: Record<string, unknown> = { name: options.name, namespace: options.namespace ?? 'default' };
  if (options.labels) metadata.labels = options.labels;
  if (options.annotations) metadata.annotations = options.annotations;
  return {
    apiVersion: options.apiVersion ?? 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata,
    spec: {
      interval: '5m',
      url: options.url,
      ...(options.ref ? { ref: options.ref } : {}),
      ...(verify !== null ? { verify } : {}),
      ...(options.extraSpec ?? {}),
    },
  };
}
