/**
 * What the policy lets the webhook contact before any registry call: `allowedRegistries`, `allowInsecure`, and
 * the network guard (`allowNetworks` / `denyNetworks`, named hosts of `allowedRegistries`).
 */
import { PinwardenError } from '../core/errors.ts';
import { urlHasPrefix } from '../core/flux/index.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import { createNetworkGuard, hostsOfPrefixes } from '../oci/index.ts';
import type { NetworkGuard } from '../oci/index.ts';
import { createBoundedCache } from '../runtime/index.ts';

/**
 * Never contact a registry the policy rejects anyway: the webhook must not become a way to make the cluster
 * send requests (with credentials) to arbitrary hosts, nor speak plain HTTP where the policy forbids it.
 */
export function refuseByPolicy(url: string, insecure: boolean, policy: SourcePolicy): void {
  const settings = policy.spec.ociRepository;
  if (settings.allowedRegistries.length > 0 && !isAllowedRegistry(policy, url)) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `${url} is outside spec.ociRepository.allowedRegistries; not contacted`,
      { details: { path: 'spec.url' } },
    );
  }
  if (insecure && !settings.allowInsecure) {
    throw new PinwardenError('PW_INPUT_INVALID', 'spec.insecure is not allowed by the policy; registry not contacted', {
      details: { path: 'spec.insecure' },
    });
  }
}

/** Per policy object (a reload makes a new one), the allowedRegistries verdict of each url seen. */
const allowedByPolicy = new WeakMap<SourcePolicy, (url: string) => boolean>();

function isAllowedRegistry(policy: SourcePolicy, url: string): boolean {
  let check = allowedByPolicy.get(policy);
  if (!check) {
    const prefixes = policy.spec.ociRepository.allowedRegistries;
    check = memo(1024, (candidate: string) => prefixes.some((prefix) => urlHasPrefix(candidate, prefix)));
    allowedByPolicy.set(policy, check);
  }
  return check(url);
}

/** A bounded memo for pure functions of a string (parse results, verdicts); errors are not remembered. */
export function memo<T>(max: number, compute: (key: string) => T): (key: string) => T {
  const results = createBoundedCache<{ value: T }>({
    maxEntries: max,
    maxBytes: max * 1024,
    ttlMs: Number.POSITIVE_INFINITY,
    sweepEveryMs: 60_000,
    sizeOf: () => 512,
  });
  return (key) => {
    const hit = results.get(key);
    if (hit) return hit.value;
    const value = compute(key);
    results.set(key, { value });
    return value;
  };
}

/** The addresses a policy lets the webhook reach: see `NetworkGuard` in the OCI room. */
export function networkGuardOf(policy: SourcePolicy): NetworkGuard {
  return createNetworkGuard({
    allowNetworks: policy.spec.registry.allowNetworks,
    denyNetworks: policy.spec.registry.denyNetworks,
    namedHosts: hostsOfPrefixes(policy.spec.ociRepository.allowedRegistries),
  });
}
