/**
 * Semver tag selection as source-controller does it (`getTagBySemver`, fluxcd/pkg `version.ParseVersion`):
 * filter tags with `semverFilter` (a Go regexp, unanchored `MatchString` — evaluated with re2js, never a JS
 * RegExp), keep tags of exactly three dot-separated parts (a `v` prefix and leading zeros allowed), keep those
 * inside the Masterminds-style constraint, take the highest.
 */
import { createRequire } from 'node:module';
import { RE2JS } from 're2js';
import type * as Semver from 'semver';
import type { Range, SemVer } from 'semver';
import { PinwardenError } from '../core/errors.ts';

const RELAXED_VERSION =
  /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
/** A version with a pre-release inside a constraint, e.g. `>= 6.1.x-0` (not the ` - ` of a hyphen range). */
const CONSTRAINT_PRERELEASE = /\d(?:\.[\dxX*]+){0,2}-[0-9A-Za-z]/;

let loaded: typeof Semver | undefined;
/**
 * node-semver (about 50 modules), loaded on first use: this room's index is imported by every command, and
 * only tag resolution selects by semver (`pinwarden pull` does not: BENCHMARKS.md, `pinwarden pull`).
 */
function semver(): typeof Semver {
  loaded ??= createRequire(import.meta.url)('semver') as typeof Semver;
  return loaded;
}

export interface SemverConstraint {
  test(version: SemVer): boolean;
}

/** A tag as Flux reads it, or undefined when it is not a version. */
export function parseTagVersion(tag: string): SemVer | undefined {
  const match = RELAXED_VERSION.exec(tag);
  if (!match) return undefined;
  const [, major, minor, patch, prerelease] = match;
  const normalized = `${Number(major)}.${Number(minor)}.${Number(patch)}${prerelease !== undefined ? `-${prerelease}` : ''}`;
  try {
    return new (semver().SemVer)(normalized, { loose: true });
  } catch {
    return undefined;
  }
}

/**
 * Masterminds constraint syntax (`,` is AND, `||` is OR) on top of node-semver ranges. Masterminds lets a
 * pre-release version through a comparator only when that comparator names a pre-release itself, so a
 * pre-release satisfies an AND-group only if every comparator in it carries one (`>=1.0.0-0 <2.0.0-0`).
 */
export function parseSemverConstraint(constraint: string): SemverConstraint {
  const groups = constraint.split('||').map((group) => parseGroup(group, constraint));
  return {
    test: (version) =>
      groups.some((group) => (version.prerelease.length === 0 || group.allowsPrerelease) && group.range.test(version)),
  };
}

function parseGroup(group: string, constraint: string): { range: Range; allowsPrerelease: boolean } {
  const text = group
    .replace(/,/g, ' ')
    .replace(/([<>=!~^]+)\s+/g, '$1')
    // `6.x-0` / `6.1.x-0`: the wildcard parts are zero with the pre-release kept (Masterminds), not dropped.
    .replace(/(\d+)\.[xX*](?:\.[xX*])?-([0-9A-Za-z.-]+)/g, '$1.0.0-$2')
    .replace(/(\d+)\.(\d+)\.[xX*]-([0-9A-Za-z.-]+)/g, '$1.$2.0-$3')
    .trim();
  const versions = text.split(/\s+/).filter((token) => /\d/.test(token));
  try {
    const range = new (semver().Range)(text === '' ? '*' : text, { loose: true, includePrerelease: true });
    return {
      range,
      allowsPrerelease: versions.length > 0 && versions.every((token) => CONSTRAINT_PRERELEASE.test(token)),
    };
  } catch {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `semver range '${constraint.slice(0, 100)}' is not a valid constraint`,
    );
  }
}

/** Compiles a Go (RE2) pattern into an unanchored matcher. */
export function compileTagFilter(pattern: string): (tag: string) => boolean {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (error) {
    const why = error instanceof Error ? error.message : 'invalid pattern';
    throw new PinwardenError('PW_INPUT_INVALID', `semverFilter is not a valid Go regexp: ${why.slice(0, 160)}`);
  }
  return (tag) => compiled.test(tag);
}

/** The highest tag satisfying the constraint (after the filter), or undefined. */
export function highestMatchingTag(
  tags: Iterable<string>,
  constraint: SemverConstraint,
  filter?: (tag: string) => boolean,
): string | undefined {
  let best: Best | undefined;
  for (const tag of tags) best = better(best, tag, constraint, filter);
  return best?.tag;
}

type Best = { tag: string; version: SemVer };

function better(
  best: Best | undefined,
  tag: string,
  constraint: SemverConstraint,
  filter?: (tag: string) => boolean,
): Best | undefined {
  if (filter && !filter(tag)) return best;
  const version = parseTagVersion(tag);
  if (!version || !constraint.test(version)) return best;
  if (
    !best ||
    semver().compare(version, best.version) > 0 ||
    (semver().compare(version, best.version) === 0 && tag > best.tag)
  )
    return { tag, version };
  return best;
}

export interface SelectionBudget {
  /** CPU time the selection may spend in total (ms, default 2000). */
  budgetMs?: number;
  /** Work this long at most before yielding to the event loop (ms, default 10). */
  sliceMs?: number;
  /** ms clock (default performance.now); tests inject one. */
  now?: () => number;
  signal?: AbortSignal;
}

export const SEMVER_BUDGET_MS = 2000;

/**
 * `highestMatchingTag` for the webhook: works in slices of `sliceMs` and yields between them, so other
 * reviews and `/healthz` are served while a long range is tested against thousands of tags; the time spent
 * working is bounded (PW_INPUT_TOO_LARGE past `budgetMs`), and an aborted call stops at the next slice.
 */
export async function highestMatchingTagWithin(
  tags: readonly string[],
  constraint: SemverConstraint,
  filter: ((tag: string) => boolean) | undefined,
  options: SelectionBudget = {},
): Promise<string | undefined> {
  const now = options.now ?? (() => performance.now());
  const budgetMs = options.budgetMs ?? SEMVER_BUDGET_MS;
  const sliceMs = options.sliceMs ?? 10;
  let best: Best | undefined;
  let spent = 0;
  let index = 0;
  while (index < tags.length) {
    const sliceStart = now();
    do {
      best = better(best, tags[index] as string, constraint, filter);
      index++;
    } while (index < tags.length && (index % 16 !== 0 || now() - sliceStart < sliceMs));
    spent += now() - sliceStart;
    if (spent > budgetMs && index < tags.length) {
      throw new PinwardenError(
        'PW_INPUT_TOO_LARGE',
        `the semver range and filter took over the ${budgetMs} ms selection budget against ${tags.length} tags (stopped after ${index})`,
      );
    }
    if (index < tags.length) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (options.signal?.aborted)
        throw options.signal.reason instanceof Error
          ? options.signal.reason
          : new PinwardenError('PW_DEADLINE', 'semver selection was cancelled');
    }
  }
  return best?.tag;
}
