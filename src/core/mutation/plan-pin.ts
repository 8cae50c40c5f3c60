/**
 * `planPin`: the JSON Patch the mutating webhook answers with. Explicit ops on the raw object (never a
 * re-serialised diff, so unknown fields always survive): add `spec.ref.digest`, keep the tag, record
 * `pinwarden.dev/pinned-from` and `pinwarden.dev/pinned-at`. Only fields whose value changes get an op, so
 * a second pass over a patched object plans nothing, and dryRun gets the same answer as a real request.
 */
import { briefCause } from '../brief-cause.ts';
import type { PinwardenError } from '../errors.ts';
import { isValidDigest } from '../flux/oci-url.ts';
import { asRecord } from '../flux/objects.ts';
import type { SourcePolicy } from '../policy/index.ts';
import type { PatchOp } from './json-patch.ts';
import { pointerOf } from './json-patch.ts';
import {
  PINNED_AT_ANNOTATION,
  PINNED_FROM_ANNOTATION,
  describeSource,
  pinnedFromValue,
  planIntent,
} from './pin-intent.ts';
import type { PinIntent, PinTarget } from './pin-intent.ts';

/** What the registry said about a pin target: the digest (and the tag a semver range chose), or why not. */
export type Resolution = { ok: true; digest: string; tag: string } | { ok: false; error: PinwardenError };

export interface PinPlan {
  intent: PinIntent;
  patch: PatchOp[];
  warnings: string[];
  /** Set when a digest is (or stays) pinned by this plan. */
  digest?: string;
  /** Set when pinning was wanted and failed: the error the validating webhook should name. */
  failure?: PinwardenError;
}

/**
 * `resolution` is needed only when `planIntent` says `resolve`; `now` stamps `pinned-at` (RFC 3339, UTC,
 * whole seconds like Kubernetes timestamps).
 */
export function planPin(
  object: unknown,
  oldObject: unknown,
  resolution: Resolution | undefined,
  policy: SourcePolicy,
  now: Date,
): PinPlan {
  return planPinFor(planIntent(object, oldObject, policy), object, resolution, now);
}

/** `planPin` for a caller that already holds the intent (the flow computed it to decide whether to resolve). */
export function planPinFor(intent: PinIntent, object: unknown, resolution: Resolution | undefined, now: Date): PinPlan {
  switch (intent.action) {
    case 'none':
      return { intent, patch: [], warnings: intent.note !== undefined ? [`pinwarden: ${intent.note}`] : [] };
    case 'reuse': {
      const annotations = {
        [PINNED_FROM_ANNOTATION]: intent.reused.pinnedFrom ?? describeSource(intent.target.source),
        ...(intent.reused.pinnedAt !== undefined ? { [PINNED_AT_ANNOTATION]: intent.reused.pinnedAt } : {}),
      };
      return {
        intent,
        patch: pinOps(object, intent.reused.digest, annotations),
        warnings: frozenFloatingTag(intent.target, intent.reused.digest),
        digest: intent.reused.digest,
      };
    }
    case 'resolve':
      return resolvedPlan(object, intent, resolution, now);
  }
}

function resolvedPlan(
  object: unknown,
  intent: PinIntent & { action: 'resolve' },
  resolution: Resolution | undefined,
  now: Date,
): PinPlan {
  if (resolution === undefined) return { intent, patch: [], warnings: [] };
  if (!resolution.ok) {
    return {
      intent,
      patch: [],
      warnings: [failureWarning(intent.target, resolution.error)],
      failure: resolution.error,
    };
  }
  if (!isValidDigest(resolution.digest)) {
    const warning = `pinwarden: ${targetLabel(intent.target)} resolved to "${resolution.digest}", which Flux cannot pin (sha256 only)`;
    return { intent, patch: [], warnings: [warning] };
  }
  const annotations = {
    [PINNED_FROM_ANNOTATION]: pinnedFromValue(intent.target.source, resolution.tag),
    [PINNED_AT_ANNOTATION]: rfc3339(now),
  };
  const warnings =
    intent.replacing !== undefined && intent.replacing !== resolution.digest
      ? [`pinwarden: re-pinned ${targetLabel(intent.target)}: the previous digest was pinned from another ref`]
      : [];
  return { intent, patch: pinOps(object, resolution.digest, annotations), warnings, digest: resolution.digest };
}

function pinOps(object: unknown, digest: string, annotations: Record<string, string>): PatchOp[] {
  return [...setOps(object, ['spec', 'ref'], { digest }), ...setOps(object, ['metadata', 'annotations'], annotations)];
}

/**
 * Ops that make `object[...container][key] = value` for every entry, creating the container with one
 * `add` when it (or an ancestor) is absent or not an object, and skipping values already in place.
 */
function setOps(object: unknown, container: readonly string[], values: Record<string, string>): PatchOp[] {
  let node: unknown = object;
  for (let depth = 0; depth < container.length; depth++) {
    const record = asRecord(node);
    const segment = container[depth] as string;
    const next = record?.[segment];
    if (asRecord(next) === undefined) {
      const path = container.slice(0, depth + 1);
      return [{ op: 'add', path: pointerOf(path), value: nest(container.slice(depth + 1), values) }];
    }
    node = next;
  }
  const existing = asRecord(node) ?? {};
  return Object.entries(values)
    .filter(([key, value]) => existing[key] !== value)
    .map(([key, value]) => ({
      op: Object.hasOwn(existing, key) ? 'replace' : 'add',
      path: pointerOf([...container, key]),
      value,
    }));
}

function nest(segments: readonly string[], values: Record<string, string>): unknown {
  return segments.reduceRight<unknown>((inner, segment) => ({ [segment]: inner }), { ...values });
}

/**
 * Tags that move by design: `latest` and its kin, `*-stable`-style suffixes, and a bare major or major.minor
 * (`v1`, `6.2`). A sticky pin of one keeps running the digest it first had, which is the point of sticky but
 * easy to forget, so the answer says which digest is frozen and how to move it.
 */
const FLOATING_NAMES =
  /^(latest|stable|edge|main|master|dev|develop|nightly|canary|next|head|trunk|release|beta|alpha|rc)$/i;
const FLOATING_SUFFIX = /[-_.](latest|stable|edge|main|master|dev|nightly|canary|next|head)$/i;
const PARTIAL_VERSION = /^v?\d+(\.\d+)?$/;

export function isFloatingTag(tag: string): boolean {
  return FLOATING_NAMES.test(tag) || FLOATING_SUFFIX.test(tag) || PARTIAL_VERSION.test(tag);
}

function frozenFloatingTag(target: PinTarget, digest: string): string[] {
  if (target.source.kind !== 'tag' || !isFloatingTag(target.source.tag)) return [];
  // Digest first: warnings are cut at 120 characters. A CREATE resolves afresh, so re-creating moves it.
  return [
    `pinwarden: kept ${digest.slice(0, 19)} for floating tag "${target.source.tag}" (sticky); move it: change the tag or re-create the object`,
  ];
}

function failureWarning(target: PinTarget, error: PinwardenError): string {
  return `pinwarden: not pinned (${error.code}): ${briefCause(error.message)}; ${targetLabel(target)}`;
}

function targetLabel(target: PinTarget): string {
  const source = target.source;
  return source.kind === 'semver' ? `semver "${source.range}"` : `tag "${source.tag}"`;
}

let lastSecond = Number.NaN;
let lastStamp = '';

/** Whole seconds, UTC (`2026-03-01T12:34:56Z`); the string is reused within a second (the hot path calls it per admission). */
export function rfc3339(now: Date): string {
  const second = Math.floor(now.getTime() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastStamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return lastStamp;
}
