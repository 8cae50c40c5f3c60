/**
 * Size caps on the tenant-written fields that drive work (a registry call, a cache key, an automaton, a
 * semver walk), checked before any of that work: an object over a cap is answered from the lengths alone.
 * Pure: reads the tolerant view, never the whole object, and stops counting at the first cap passed.
 */
import type { BucketView, OciRepositoryView } from './flux/objects.ts';

export const INPUT_CAPS = {
  /** `spec.url`, in UTF-8 bytes: real registry references are far below (Docker caps a name at 255). */
  urlBytes: 2 * 1024,
  /** Each `matchOIDCIdentity` issuer or subject, in UTF-8 bytes. */
  identityPatternBytes: 1024,
  /** `matchOIDCIdentity` entries (Flux's cosign v3 path takes exactly one). */
  identityEntries: 16,
  /** `spec.ref.semver`, in characters. */
  semverRangeChars: 256,
  /** `spec.ref.semverFilter`, in UTF-8 bytes (a Go regexp run against every tag). */
  semverFilterBytes: 1024,
  /** Bucket `spec.ignore`, in UTF-8 bytes: every line is parsed as a .gitignore pattern (about 40 ms per 16 KiB). */
  bucketIgnoreBytes: 16 * 1024,
} as const;

export interface CapViolation {
  path: string;
  /** e.g. "2048 bytes": what the denial names. */
  cap: string;
  /** e.g. "2949120 bytes" (a lower bound once the count stopped early). */
  actual: string;
}

export function inputCapViolations(view: OciRepositoryView): CapViolation[] {
  const violations: CapViolation[] = [];
  const bytes = (path: string, value: unknown, limit: number): void => {
    if (typeof value !== 'string' || surelyWithin(value, limit)) return;
    const size = utf8LengthUpTo(value, limit);
    if (size > limit) violations.push({ path, cap: `${limit} bytes`, actual: describeSize(value, size, limit) });
  };
  bytes('spec.url', view.url, INPUT_CAPS.urlBytes);
  const semver = view.ref?.semver;
  if (semver !== undefined && semver.length > INPUT_CAPS.semverRangeChars) {
    violations.push({
      path: 'spec.ref.semver',
      cap: `${INPUT_CAPS.semverRangeChars} characters`,
      actual: `${semver.length} characters`,
    });
  }
  bytes('spec.ref.semverFilter', view.ref?.semverFilter, INPUT_CAPS.semverFilterBytes);
  const identities = view.verify?.identities ?? [];
  if (identities.length > INPUT_CAPS.identityEntries) {
    violations.push({
      path: 'spec.verify.matchOIDCIdentity',
      cap: `${INPUT_CAPS.identityEntries} entries`,
      actual: `${identities.length} entries`,
    });
  }
  identities.slice(0, INPUT_CAPS.identityEntries).forEach((entry, index) => {
    bytes(`spec.verify.matchOIDCIdentity[${index}].issuer`, entry.issuer, INPUT_CAPS.identityPatternBytes);
    bytes(`spec.verify.matchOIDCIdentity[${index}].subject`, entry.subject, INPUT_CAPS.identityPatternBytes);
  });
  return violations;
}

export function bucketCapViolations(view: BucketView): CapViolation[] {
  if (typeof view.ignore !== 'string' || surelyWithin(view.ignore, INPUT_CAPS.bucketIgnoreBytes)) return [];
  const size = utf8LengthUpTo(view.ignore, INPUT_CAPS.bucketIgnoreBytes);
  if (size <= INPUT_CAPS.bucketIgnoreBytes) return [];
  return [
    {
      path: 'spec.ignore',
      cap: `${INPUT_CAPS.bucketIgnoreBytes} bytes`,
      actual: describeSize(view.ignore, size, INPUT_CAPS.bucketIgnoreBytes),
    },
  ];
}

/**
 * No UTF-16 unit takes more than 3 bytes in UTF-8 (a surrogate pair: 2 units, 4 bytes), so a string of at most
 * limit / 3 units is within the cap without walking it: every real URL and pattern, on every admission.
 */
function surelyWithin(text: string, limitBytes: number): boolean {
  return text.length * 3 <= limitBytes;
}

/** UTF-8 length of `text`; a string longer than `limit` characters is not walked (a 3 MB string costs O(1)). */
export function utf8LengthUpTo(text: string, limit: number): number {
  if (text.length > limit) return text.length;
  let size = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) size += 1;
    else if (code < 0x800) size += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      size += 4;
      index++;
    } else size += 3;
  }
  return size;
}

function describeSize(text: string, size: number, limit: number): string {
  // Past the cap the string's length is a lower bound of its UTF-8 size: say "at least".
  return text.length > limit ? `at least ${text.length} bytes` : `${size} bytes`;
}

/** One line for a denial or a mutate warning: names the field and its cap. */
export function describeCapViolation(violation: CapViolation): string {
  return `${violation.path} is ${violation.actual}, over the cap of ${violation.cap}`;
}
