/**
 * Admission text. Warnings: each at most 120 characters (the apiserver's advice; longer ones may be cut or
 * dropped) and at most a handful, cut at a word boundary so the rule id and path stay readable. Denials:
 * every violation as `[rule-id] path: message; fix: …`, one per line.
 */
import type { Finding } from '../core/findings.ts';

export const MAX_WARNING_LENGTH = 120;
const MAX_WARNINGS = 20;

export function truncateWarning(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= MAX_WARNING_LENGTH) return flat;
  const room = MAX_WARNING_LENGTH - 1;
  const cut = flat.slice(0, room);
  const space = cut.lastIndexOf(' ');
  // Prefer a word boundary unless it throws away most of the line.
  return `${space > room * 0.6 ? cut.slice(0, space) : cut}…`;
}

export function limitWarnings(warnings: readonly string[]): string[] {
  const unique = [...new Set(warnings.map(truncateWarning))].filter((warning) => warning !== '');
  if (unique.length <= MAX_WARNINGS) return unique;
  return [...unique.slice(0, MAX_WARNINGS - 1), `pinwarden: ${unique.length - MAX_WARNINGS + 1} more warnings not shown`];
}

export function violationLine(finding: Finding): string {
  return `[${finding.ruleId}] ${finding.path}: ${finding.message}; fix: ${finding.fix}`;
}

/** Short form for a warning: the fix rarely fits in 120 characters, the rule id says where to look. */
export function warningLine(finding: Finding): string {
  return `[${finding.ruleId}] ${finding.path}: ${finding.message}`;
}

export function denialMessage(object: string, findings: readonly Finding[]): string {
  const errors = findings.filter((finding) => finding.severity === 'error');
  return [`pinwarden denied ${object}:`, ...errors.map(violationLine)].join('\n');
}
