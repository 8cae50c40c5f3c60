/**
 * A short-lived record of why the mutating webhook could not pin an object, so the validating webhook that
 * follows in the same API request can name the cause in its `digest-required` denial without asking the
 * registry again. Keyed by object, url and ref (admission UIDs differ between the two webhook calls). A
 * replica that did not see the mutation misses here and the caller re-asks the (cached, coalesced) resolver.
 */
import type { PinwardenError } from '../core/errors.ts';
import type { ObjectRef } from '../core/findings.ts';
import { normalizeOciUrl } from '../core/flux/index.ts';
import { describeSource } from '../core/mutation/index.ts';
import type { PinTarget } from '../core/mutation/index.ts';
import { createBoundedCache } from '../runtime/index.ts';

export interface PinFailureLog {
  record(object: ObjectRef, target: PinTarget, error: PinwardenError): void;
  forget(object: ObjectRef, target: PinTarget): void;
  lookup(object: ObjectRef, target: PinTarget): PinwardenError | undefined;
}

export interface PinFailureLogOptions {
  /** How long a failure explains a later denial (default 30 s: longer than any webhook timeout). */
  ttlMs?: number;
  maxEntries?: number;
  /** Bound on retained bytes (default 4 MiB); messages are counted by length. */
  maxBytes?: number;
  now?: () => number;
}

export function createPinFailureLog(options: PinFailureLogOptions = {}): PinFailureLog {
  const entries = createBoundedCache<PinwardenError>({
    maxEntries: options.maxEntries ?? 10_000,
    maxBytes: options.maxBytes ?? 4 * 1024 * 1024,
    ttlMs: options.ttlMs ?? 30_000,
    ...(options.now ? { now: options.now } : {}),
    sizeOf: (error) => 256 + error.message.length * 2,
  });
  return {
    record: (object, target, error) => entries.set(keyOf(object, target), error),
    forget(object, target) {
      if (entries.size > 0) entries.delete(keyOf(object, target));
    },
    lookup(object, target) {
      if (entries.size === 0) return undefined;
      return entries.get(keyOf(object, target));
    },
  };
}

function keyOf(object: ObjectRef, target: PinTarget): string {
  return [object.namespace ?? '', object.name, normalizeOciUrl(target.url), describeSource(target.source)].join(
    '\u0000',
  );
}
