/**
 * Decides what the mutating webhook should do with one object before any registry call: nothing, reuse
 * the digest the running object already has (`pinning: sticky`), or resolve a tag / semver range. The
 * flow resolves only when the answer is `resolve`, so a sticky UPDATE never touches the registry.
 */
import { isValidDigest, isValidTag, normalizeOciUrl } from '../flux/oci-url.ts';
import { asRecord, asString, governedKindOf, objectRefOf, readOciRepository } from '../flux/objects.ts';
import type { OciRepositoryView } from '../flux/objects.ts';
import { describeCapViolation, inputCapViolations } from '../input-caps.ts';
import type { SourcePolicy } from '../policy/index.ts';
import { selectRule, type ScopeFacts } from '../scope/index.ts';

export const PINNED_FROM_ANNOTATION = 'pinwarden.dev/pinned-from';
export const PINNED_AT_ANNOTATION = 'pinwarden.dev/pinned-at';

/** What a digest is pinned from: a tag (explicit, or Flux's implicit `latest`) or a semver range. */
export type PinSource =
  { kind: 'tag'; tag: string; implicit: boolean } | { kind: 'semver'; range: string; filter?: string };

export interface PinTarget {
  /** spec.url as written (`oci://host/repo`). */
  url: string;
  source: PinSource;
}

export type NoPinReason =
  | 'not-oci-repository'
  | 'exempt'
  | 'pinned'
  | 'tag-to-digest-off'
  | 'semver-to-digest-off'
  | 'no-url'
  | 'invalid-tag'
  | 'input-too-large';

export interface ReusedPin {
  digest: string;
  pinnedFrom?: string;
  pinnedAt?: string;
}

export type PinIntent =
  | { action: 'none'; reason: NoPinReason; note?: string }
  | { action: 'reuse'; target: PinTarget; reused: ReusedPin }
  | { action: 'resolve'; target: PinTarget; replacing?: string };

/** `oldObject` is present on UPDATE only. The pinning settings are those of the rule that decides the object. */
export function planIntent(object: unknown, oldObject: unknown, given: SourcePolicy, facts?: ScopeFacts): PinIntent {
  if (governedKindOf(object) !== 'OCIRepository') return { action: 'none', reason: 'not-oci-repository' };
  const namespace = objectRefOf(object).namespace;
  if (namespace !== undefined && given.spec.exemptNamespaces.includes(namespace))
    return { action: 'none', reason: 'exempt' };
  const policy = selectRule(object, given, facts).policy;
  const view = readOciRepository(object);
  // Before anything else (a trim, a cache key, a registry call): an oversized field is never worked on.
  const [oversized] = inputCapViolations(view);
  if (oversized)
    return {
      action: 'none',
      reason: 'input-too-large',
      note: `not pinned (PW_INPUT_TOO_LARGE): ${describeCapViolation(oversized)}`,
    };
  if (view.url === undefined || view.url.trim() === '') return { action: 'none', reason: 'no-url' };
  const source = pinSourceOf(view);
  if (source.kind === 'tag' && !isValidTag(source.tag)) return { action: 'none', reason: 'invalid-tag' };
  const target: PinTarget = { url: view.url, source };
  const digest = view.ref?.digest;
  if (digest !== undefined) return pinnedIntent(object, target, policy);
  const disabled = disabledReason(source, policy);
  if (disabled) return { action: 'none', reason: disabled };
  const reused = policy.spec.ociRepository.pinning === 'sticky' ? stickyPin(oldObject, target) : undefined;
  return reused ? { action: 'reuse', target, reused } : { action: 'resolve', target };
}

/**
 * Already pinned: nothing to do (idempotent), unless pinwarden pinned it from a different tag or range —
 * a client-side `kubectl apply` keeps a live field Git never had, so the old digest would outlive a tag
 * change in Git. Then the digest is stale and is resolved again.
 */
function pinnedIntent(object: unknown, target: PinTarget, policy: SourcePolicy): PinIntent {
  const recorded = annotationsOf(object)[PINNED_FROM_ANNOTATION];
  const current = describeSource(target.source);
  if (recorded === undefined || sourcePart(recorded) === current) return { action: 'none', reason: 'pinned' };
  const disabled = disabledReason(target.source, policy);
  if (disabled) {
    return {
      action: 'none',
      reason: 'pinned',
      note: `spec.ref.digest was pinned from ${sourcePart(recorded)}, not ${current}, and pinning ${current} is off; the old digest stays`,
    };
  }
  return { action: 'resolve', target, replacing: readOciRepository(object).ref?.digest ?? '' };
}

/** `pinning: sticky`: on UPDATE with the same url and tag/range, the digest that ran stays. */
function stickyPin(oldObject: unknown, target: PinTarget): ReusedPin | undefined {
  if (oldObject === undefined || governedKindOf(oldObject) !== 'OCIRepository') return undefined;
  const old = readOciRepository(oldObject);
  const digest = old.ref?.digest;
  if (digest === undefined || !isValidDigest(digest) || old.url === undefined) return undefined;
  if (normalizeOciUrl(old.url) !== normalizeOciUrl(target.url)) return undefined;
  const current = describeSource(target.source);
  if (describeSource(pinSourceOf(old)) !== current) return undefined;
  const annotations = annotationsOf(oldObject);
  const pinnedFrom = annotations[PINNED_FROM_ANNOTATION];
  // An annotation naming another source means the old digest was itself stale: do not carry it over.
  if (pinnedFrom !== undefined && sourcePart(pinnedFrom) !== current) return undefined;
  const pinnedAt = annotations[PINNED_AT_ANNOTATION];
  return {
    digest,
    ...(pinnedFrom !== undefined ? { pinnedFrom } : {}),
    ...(pinnedAt !== undefined ? { pinnedAt } : {}),
  };
}

function disabledReason(source: PinSource, policy: SourcePolicy): NoPinReason | undefined {
  const mutate = policy.spec.ociRepository.mutate;
  if (source.kind === 'semver') return mutate.semverToDigest ? undefined : 'semver-to-digest-off';
  return mutate.tagToDigest ? undefined : 'tag-to-digest-off';
}

/** Flux precedence below the digest: semver, then tag, then the implicit `latest`. */
export function pinSourceOf(view: OciRepositoryView): PinSource {
  const ref = view.ref;
  if (ref?.semver !== undefined)
    return {
      kind: 'semver',
      range: ref.semver,
      ...(ref.semverFilter !== undefined ? { filter: ref.semverFilter } : {}),
    };
  if (ref?.tag !== undefined) return { kind: 'tag', tag: ref.tag, implicit: false };
  return { kind: 'tag', tag: 'latest', implicit: true };
}

/** The source half of `pinwarden.dev/pinned-from`: `tag:v1.4.0`, `semver:>=1.0.0` (+ ` filter:<re>`). */
export function describeSource(source: PinSource): string {
  if (source.kind === 'tag') return `tag:${source.tag}`;
  return `semver:${source.range}${source.filter !== undefined ? ` filter:${source.filter}` : ''}`;
}

/** `tag:v1.4.0`, or `semver:>=1.0.0 → v1.4.2` (the tag the range chose). */
export function pinnedFromValue(source: PinSource, resolvedTag: string): string {
  const described = describeSource(source);
  return source.kind === 'semver' ? `${described} → ${resolvedTag}` : described;
}

/** The source half of a recorded `pinned-from` value: `semver:>=1.0.0 → v1.4.2` → `semver:>=1.0.0`. */
export function sourcePart(pinnedFrom: string): string {
  const arrow = pinnedFrom.indexOf(' → ');
  return arrow >= 0 ? pinnedFrom.slice(0, arrow) : pinnedFrom;
}

export function annotationsOf(object: unknown): Record<string, string> {
  const annotations = asRecord(asRecord(asRecord(object)?.metadata)?.annotations) ?? {};
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(annotations)) {
    const text = asString(value);
    if (text !== undefined) out[key] = text;
  }
  return out;
}
