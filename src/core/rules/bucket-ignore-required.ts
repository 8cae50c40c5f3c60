import ignore from 'ignore';
import type { BucketRule, RuleFinding } from './rule.ts';

/**
 * Flux's Bucket controller applies no default exclusions, so spec.ignore is the only thing keeping
 * unrelated bucket objects out of the artifact. Absent, blank, comment-only and negation-only values
 * all exclude nothing and count as missing.
 */
export const bucketIgnoreRequired: BucketRule = {
  id: 'bucket-ignore-required',
  kind: 'Bucket',
  severity: 'error',
  summary: 'A Bucket must set spec.ignore to at least one .gitignore pattern that excludes something.',
  check(view, { policy }) {
    if (!policy.spec.bucket.requireIgnore) return [];
    if (view.ignore === undefined || view.ignore === null) return [missing('spec.ignore is missing')];
    if (typeof view.ignore !== 'string') return [missing('spec.ignore must be a string of .gitignore patterns')];
    const patterns = gitignorePatterns(view.ignore);
    // One matcher for all lines first (the common, valid case); line by line only to name a bad one.
    const invalid = isParsableAll(patterns) ? undefined : patterns.find((pattern) => !isParsable(pattern));
    if (invalid !== undefined) {
      return [missing(`spec.ignore pattern "${invalid}" is not valid .gitignore syntax`)];
    }
    if (patterns.length === 0) return [missing('spec.ignore holds only blank lines and # comments')];
    if (patterns.every((pattern) => pattern.startsWith('!'))) {
      return [missing('spec.ignore holds only negations (!pattern), which exclude nothing')];
    }
    return [];
  },
};

/** The pattern lines of a .gitignore text: blank lines and comments dropped, unescaped trailing spaces trimmed. */
export function gitignorePatterns(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map(trimUnescapedTrailingSpaces)
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#') && line !== '!');
}

function trimUnescapedTrailingSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t') && line[end - 2] !== '\\') end -= 1;
  return line.slice(0, end);
}

function isParsableAll(patterns: readonly string[]): boolean {
  try {
    ignore()
      .add([...new Set(patterns)])
      .ignores('probe');
    return true;
  } catch {
    return false;
  }
}

function isParsable(pattern: string): boolean {
  try {
    ignore().add(pattern).ignores('probe');
    return true;
  } catch {
    return false;
  }
}

function missing(message: string): RuleFinding {
  return {
    path: 'spec.ignore',
    message,
    fix: 'set spec.ignore to .gitignore patterns, e.g. "/*" then "!/deploy" to ship only the deploy directory',
  };
}
