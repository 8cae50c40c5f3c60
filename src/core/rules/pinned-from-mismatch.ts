import { describeSource, PINNED_FROM_ANNOTATION, pinSourceOf, sourcePart } from '../mutation/index.ts';
import type { OciRepositoryRule } from './rule.ts';

/** A recorded value is tenant-writable: quoted with escapes and cut, so an answer never echoes it unbounded. */
const QUOTE_MAX = 200;

/**
 * A digest pinwarden pinned records what it was pinned from (`pinwarden.dev/pinned-from`). When spec.ref
 * names another tag, semver range or semverFilter, the digest belongs to the old ref: a later mutating webhook
 * changed the ref after the pin (with `reinvocationPolicy: Never` pinwarden is not called again), or a
 * client kept a stale live field. The object would run content its ref does not name, so it is denied.
 * An object without the annotation (a digest the author set) is not judged here.
 */
export const pinnedFromMismatch: OciRepositoryRule = {
  id: 'pinned-from-mismatch',
  kind: 'OCIRepository',
  severity: 'error',
  summary: `spec.ref.digest must have been pinned from the tag or semver range spec.ref names now (${PINNED_FROM_ANNOTATION}).`,
  check(view) {
    const recorded = view.pinnedFrom;
    if (recorded === undefined || view.ref?.digest === undefined) return [];
    const current = describeSource(pinSourceOf(view));
    const was = sourcePart(recorded);
    if (was === current) return [];
    return [
      {
        path: 'spec.ref.digest',
        // The cause first: a warning is cut at 120 characters.
        message: `stale pin: spec.ref.digest was pinned from ${quoted(was)} but spec.ref names ${quoted(current)} (annotation ${PINNED_FROM_ANNOTATION}) [PW_PIN_STALE]`,
        fix: `remove spec.ref.digest and the ${PINNED_FROM_ANNOTATION} annotation so the mutating webhook pins ${quoted(current)} again (a webhook that changes spec.ref after pinwarden needs pinwarden's reinvocationPolicy: IfNeeded), or set spec.ref.digest yourself and drop the annotation`,
      },
    ];
  },
};

function quoted(value: string): string {
  const cut = value.length > QUOTE_MAX ? `${value.slice(0, QUOTE_MAX)}…` : value;
  return JSON.stringify(cut);
}
