import { isValidDigest, isValidTag } from '../flux/oci-url.ts';
import type { OciRefView, OciRepositoryView } from '../flux/objects.ts';
import type { OciRepositoryPolicy } from '../policy/index.ts';
import type { OciRepositoryRule, RuleContext, RuleFinding } from './rule.ts';

/**
 * Digest pinning. At admission the object must carry spec.ref.digest (the mutating hook pins it, so an
 * unpinned object here means pinning failed). Offline, a ref the mutating hook would pin counts as pinnable.
 */
export const digestRequired: OciRepositoryRule = {
  id: 'digest-required',
  kind: 'OCIRepository',
  severity: 'error',
  summary: 'An OCIRepository must be pinned to a sha256 digest (spec.ref.digest).',
  check(view, context) {
    const settings = context.policy.spec.ociRepository;
    if (!settings.requireDigest) return [];
    const digest = view.ref?.digest;
    if (digest !== undefined) return isValidDigest(digest) ? [] : [invalidDigest(digest)];
    const tagProblem = badTag(view.ref);
    if (tagProblem) return [tagProblem];
    if (context.phase === 'offline' && isPinnable(view, settings)) return [];
    return [unpinned(view, context)];
  },
};

function isPinnable(view: OciRepositoryView, settings: OciRepositoryPolicy): boolean {
  if (view.ref?.semver !== undefined) return settings.mutate.semverToDigest;
  return settings.mutate.tagToDigest;
}

function badTag(ref: OciRefView | undefined): RuleFinding | undefined {
  const tag = ref?.semver === undefined ? ref?.tag : undefined;
  if (tag === undefined || isValidTag(tag)) return undefined;
  const atDigest = tag.includes('@');
  return {
    path: 'spec.ref.tag',
    message: atDigest
      ? `ref.tag "${tag}" holds tag@digest, which Flux does not support (source-controller#1471)`
      : `ref.tag "${tag}" is not a valid OCI tag`,
    fix: atDigest
      ? 'move the digest to spec.ref.digest and keep only the tag in spec.ref.tag'
      : 'use a tag matching [A-Za-z0-9_][A-Za-z0-9._-]{0,127}, or pin spec.ref.digest',
  };
}

function invalidDigest(digest: string): RuleFinding {
  return {
    path: 'spec.ref.digest',
    message: `ref.digest "${digest}" is not sha256: followed by 64 lowercase hex characters`,
    fix: 'set spec.ref.digest to the sha256 manifest digest (pinwarden resolve prints it)',
  };
}

function unpinned(view: OciRepositoryView, context: RuleContext): RuleFinding {
  const what = describeRef(view.ref);
  const mutate = context.policy.spec.ociRepository.mutate;
  // When the policy turns pinning of this kind of ref off, say so: the webhook will not pin it.
  if (view.ref?.semver !== undefined && !mutate.semverToDigest) {
    return {
      path: 'spec.ref.digest',
      message: `${what} is not pinned to a digest, and semver pinning is off in this policy (spec.ociRepository.mutate.semverToDigest: false), so the webhook does not pin it`,
      fix: 'set spec.ref.digest (pinwarden resolve prints it), or ask the policy owner to turn on spec.ociRepository.mutate.semverToDigest',
    };
  }
  if (view.ref?.semver === undefined && !mutate.tagToDigest) {
    return {
      path: 'spec.ref.digest',
      message: `${what} is not pinned to a digest, and tag pinning is off in this policy (spec.ociRepository.mutate.tagToDigest: false), so the webhook does not pin it`,
      fix: 'set spec.ref.digest (pinwarden resolve prints it), or ask the policy owner to turn on spec.ociRepository.mutate.tagToDigest',
    };
  }
  return {
    path: 'spec.ref.digest',
    // The cause first: a warning is cut at 120 characters.
    message: context.pinFailure ? `${what} is not pinned: ${context.pinFailure}` : `${what} is not pinned to a digest`,
    fix:
      view.ref?.semver !== undefined
        ? 'set spec.ref.digest (pinwarden resolve prints it), or let the mutating webhook pin the range'
        : 'set spec.ref.digest (pinwarden resolve prints it), or let the mutating webhook pin the tag',
  };
}

function describeRef(ref: OciRefView | undefined): string {
  if (ref?.semver !== undefined) return `semver range "${ref.semver}"`;
  if (ref?.tag !== undefined) return `tag "${ref.tag}"`;
  return 'the implicit tag "latest"';
}
