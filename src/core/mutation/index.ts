/**
 * Digest pinning for the mutating webhook, as data: `planIntent` says whether an object needs a registry
 * lookup at all (sticky UPDATEs and pinned objects do not), `planPin` turns the lookup's answer into RFC 6902
 * ops on the raw object plus admission warnings. Pure: the registry answer arrives as a `Resolution`.
 */
export { isFloatingTag, planPin, planPinFor, rfc3339 } from './plan-pin.ts';
export type { PinPlan, Resolution } from './plan-pin.ts';
export {
  PINNED_AT_ANNOTATION,
  PINNED_FROM_ANNOTATION,
  describeSource,
  pinSourceOf,
  pinnedFromValue,
  planIntent,
  sourcePart,
} from './pin-intent.ts';
export type { NoPinReason, PinIntent, PinSource, PinTarget, ReusedPin } from './pin-intent.ts';
export { applyPatch, escapePointerSegment, pointerOf } from './json-patch.ts';
export type { PatchOp } from './json-patch.ts';
