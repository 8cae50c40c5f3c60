/**
 * A short-lived record of why the mutating webhook could not pin an object, so the validating webhook that
 * follows in the same API request can name the cause in its `digest-required` denial without asking the
 * registry again. Keyed by object, url and ref (admission UIDs differ between the two webhook calls). A
 * replica that did not see the mutation misses here and the caller re-asks the (cached, coalesced) resolver.
 */
import type { PinwardenError } from '../core/errors.ts';
import type { ObjectRef } from '../core/findings.ts';
import { normalizeOciUrl } from '../core/flux/oci-url.ts';
import { describeSource } from '../core/mutation/index.ts';
import type { PinTarget } from '../core/mutation/index.ts';

export interface PinFailureLog {
  record(object: ObjectRef, target: PinTarget, error: PinwardenError): void;
  forget(object: ObjectRef, target: PinTarget): void;
  lookup(object: ObjectRef, target: PinTarget): PinwardenError | undefined;
}

export interface PinFailureLogOptions {
  /** How long a failure explains a later denial (default 30 s: longer than any webhook timeout). */
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export function createPinFailureLog(options: PinFailureLogOptions = {}): PinFailureLog {
  const ttlMs = options.ttlMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { error: PinwardenError; expiresAt: number }>();
  return {
    record(object, target, error) {
      const key = keyOf(object, target);
      entries.delete(key);
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value ?? '');
      entries.set(key, { error, expiresAt: now() + ttlMs });
    },
    forget(object, target) {
      if (entries.size > 0) entries.delete(keyOf(object, target));
    },
    lookup(object, target) {
      if (entries.size === 0) return undefined;
      const key = keyOf(object, target);
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.expiresAt > now()) return entry.error;
      entries.delete(key);
      return undefined;
    },
  };
}

function keyOf(object: ObjectRef, target: PinTarget): string {
  return [object.namespace ?? '', object.name, normalizeOciUrl(target.url), describeSource(target.source)].join('\u0000');
}
