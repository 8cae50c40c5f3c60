/**
 * Semver tag selection as source-controller does it (`getTagBySemver`, fluxcd/pkg `version.ParseVersion`):
 * filter tags with `semverFilter` (a Go regexp, unanchored `MatchString` — evaluated with re2js, never a JS
 * RegExp), keep tags of exactly three dot-separated parts (a `v` prefix and leading zeros allowed), keep those
 * inside the Masterminds-style constraint, take the highest.
 */
import { RE2JS } from 're2js';
import semver from 'semver';
import type { Range, SemVer } from 'semver';
import { PinwardenError } from '../core/errors.ts';

const RELAXED_VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
/** A version with a pre-release inside a constraint, e.g. `>= 6.1.x-0` (not the ` - ` of a hyphen range). */
const CONSTRAINT_PRERELEASE = /\d(?:\.[\dxX*]+){0,2}-[0-9A-Za-z]/;

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
    return new semver.SemVer(normalized, { loose: true });
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
  return { test: (version) => groups.some((group) => (version.prerelease.length === 0 || group.allowsPrerelease) && group.range.test(version)) };
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
    const range = new semver.Range(text === '' ? '*' : text, { loose: true, includePrerelease: true });
    return { range, allowsPrerelease: versions.length > 0 && versions.every((token) => CONSTRAINT_PRERELEASE.test(token)) };
  } catch {
    throw new PinwardenError('PW_INPUT_INVALID', `semver range '${constraint.slice(0, 100)}' is not a valid constraint`);
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
export function highestMatchingTag(tags: Iterable<string>, constraint: SemverConstraint, filter?: (tag: string) => boolean): string | undefined {
  let best: { tag: string; version: SemVer } | undefined;
  for (const tag of tags) {
    if (filter && !filter(tag)) continue;
    const version = parseTagVersion(tag);
    if (!version || !constraint.test(version)) continue;
    if (!best || semver.compare(version, best.version) > 0 || (semver.compare(version, best.version) === 0 && tag > best.tag)) {
      best = { tag, version };
    }
  }
  return best?.tag;
}
