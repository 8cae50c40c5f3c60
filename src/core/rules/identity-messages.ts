/**
 * Messages for a keyless identity that is not inside the allowed ones, fitted to the case: an empty pattern
 * reads "matches every identity"; anchoring is suggested only for a pattern that lacks an anchor, escaping
 * dots only when it has an unescaped one between letters; when the pattern names another organisation or
 * repository than every allowed identity (their fixed text diverges), the closest allowed identity is named
 * instead of "narrow it". `allowedField` is where the deciding rule keeps its identities.
 */
import { editDistance } from '../closest.ts';
import { quotePattern, type FieldProblem } from '../identity/index.ts';
import type { AllowedIdentity } from '../policy/index.ts';
import type { RuleFinding } from './rule.ts';

type NotContained = Extract<FieldProblem, { kind: 'not-contained' }>;

export function notContainedFinding(
  problem: NotContained,
  path: string,
  allowed: readonly AllowedIdentity[],
  allowedField: string,
): RuleFinding {
  return { path, message: notContainedMessage(problem), fix: notContainedFix(problem, allowed, allowedField) };
}

function notContainedMessage(problem: NotContained): string {
  if (problem.pattern === '')
    return `${problem.field} is empty, which matches every identity, and no allowed identity accepts every ${problem.field}`;
  // The conclusion before the pattern (warnings are cut at 120 characters); a long pattern is clipped, the object holds it whole.
  const who =
    problem.rejectedBy === 'all'
      ? 'no allowed identity accepts'
      : `allowed identity #${problem.rejectedBy} does not accept`;
  const unanchored = missingAnchors(problem.pattern).length > 0 ? '; Flux matches unanchored' : '';
  return `${problem.field} accepts ${JSON.stringify(problem.counterexample)}, which ${who} (pattern ${quotePattern(clip(problem.pattern))}${unanchored})`;
}

function notContainedFix(problem: NotContained, allowed: readonly AllowedIdentity[], allowedField: string): string {
  const field = problem.field;
  const patterns = allowed.map((identity) => identity[field]);
  if (problem.pattern === '') {
    const example = shortest(patterns);
    return `set ${field} to the signer you trust, anchored${example !== undefined ? `, e.g. ${quotePattern(example)} as the policy allows` : ''}`;
  }
  const submitted = literalPrefix(problem.pattern);
  const compatible = patterns.filter((pattern) => {
    const fixed = literalPrefix(pattern);
    return fixed.startsWith(submitted) || submitted.startsWith(fixed);
  });
  if (compatible.length === 0 && submitted !== '') return elsewhereFix(problem, submitted, patterns, allowedField);
  const bound =
    problem.rejectedBy !== 'all'
      ? allowed[problem.rejectedBy]?.[field]
      : compatible.length === 1
        ? compatible[0]
        : undefined;
  const steps = [...anchorSteps(problem.pattern), ...(hasUnescapedDot(problem.pattern) ? ['escape dots as \\.'] : [])];
  return `narrow the ${field} regex${bound !== undefined ? ` to fit ${quotePattern(bound)}` : ' to fit an allowed identity'}${steps.length > 0 ? `: ${steps.join(' and ')}` : ''}`;
}

/** The fixed text diverges from every allowed pattern: say where, and name the closest allowed identity. */
function elsewhereFix(
  problem: NotContained,
  submitted: string,
  patterns: readonly string[],
  allowedField: string,
): string {
  const ranked = patterns
    .map((pattern) => {
      const fixed = literalPrefix(pattern);
      const common = commonPrefix(submitted, fixed);
      // Closest: the longest shared fixed text, then the nearest first diverging segment (acme-corp vs acme).
      return {
        pattern,
        fixed,
        common,
        distance: editDistance(firstSegment(submitted.slice(common.length)), firstSegment(fixed.slice(common.length))),
      };
    })
    .sort((a, b) => b.common.length - a.common.length || a.distance - b.distance);
  const best = ranked[0];
  if (best === undefined) return `use a ${problem.field} the policy allows (${allowedField})`;
  const where =
    best.common.length > 0
      ? `after "${clip(best.common)}" it names "${segmentOf(submitted.slice(best.common.length))}" where the closest allowed ${problem.field} names "${segmentOf(best.fixed.slice(best.common.length))}"`
      : `it shares no fixed text with the closest allowed ${problem.field}`;
  return `${where} (another organisation or repository): sign with an identity inside ${quotePattern(best.pattern)}, or ask the policy owner to add this one to ${allowedField}`;
}

function firstSegment(text: string): string {
  const slash = text.indexOf('/');
  return slash >= 0 ? text.slice(0, slash) : text;
}

/** `evil/…` for a path that goes on, `evil` otherwise. */
function segmentOf(text: string): string {
  const segment = clip(firstSegment(text));
  return segment.length < text.length ? `${segment}/…` : segment;
}

/** `^`/`\A` at the start and `$`/`\z` at the end: what is missing, as steps. */
function anchorSteps(pattern: string): string[] {
  const missing = missingAnchors(pattern);
  if (missing.length === 2) return ['anchor it with ^…$'];
  if (missing[0] === 'start') return ['start it with ^'];
  if (missing[0] === 'end') return ['end it with $'];
  return [];
}

function missingAnchors(pattern: string): Array<'start' | 'end'> {
  const missing: Array<'start' | 'end'> = [];
  if (!pattern.startsWith('^') && !pattern.startsWith('\\A')) missing.push('start');
  if (!(pattern.endsWith('$') && !pattern.endsWith('\\$')) && !pattern.endsWith('\\z')) missing.push('end');
  return missing;
}

function hasUnescapedDot(pattern: string): boolean {
  return /[A-Za-z0-9]\.[A-Za-z]/.test(pattern);
}

/**
 * The text every string the pattern accepts starts with (after `^`), as far as it is fixed: escapes of
 * punctuation are literal; a metacharacter, a class, a group or a quantified character ends it. A pattern with
 * an alternation has no reliable prefix.
 */
export function literalPrefix(pattern: string): string {
  if (pattern.includes('|')) return '';
  let index = pattern.startsWith('^') ? 1 : pattern.startsWith('\\A') ? 2 : 0;
  let out = '';
  while (index < pattern.length) {
    const char = pattern[index] ?? '';
    let literal: string;
    let width = 1;
    if (char === '\\') {
      const next = pattern[index + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) break;
      literal = next;
      width = 2;
    } else if ('.[](){}*+?$^'.includes(char)) {
      break;
    } else {
      literal = char;
    }
    const after = pattern[index + width];
    if (after !== undefined && '*?{'.includes(after)) break;
    out += literal;
    if (after === '+') break;
    index += width;
  }
  return out;
}

function commonPrefix(a: string, b: string): string {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length++;
  // Back up to a path boundary so "acme" vs "acmex" reads as whole segments.
  const cut = a.slice(0, length).lastIndexOf('/');
  return cut >= 0 ? a.slice(0, cut + 1) : a.slice(0, length);
}

function clip(text: string): string {
  return text.length <= 64 ? text : `${text.slice(0, 63)}…`;
}

function shortest(patterns: readonly string[]): string | undefined {
  return patterns.reduce<string | undefined>(
    (best, pattern) => (best === undefined || editDistance('', pattern) < editDistance('', best) ? pattern : best),
    undefined,
  );
}
