/**
 * Admission text. Warnings: each at most 120 characters (the apiserver's advice; longer ones may be cut or
 * dropped) and at most a handful, cut at a word boundary so the rule id and path stay readable. Denials:
 * every violation as `[rule-id] path: message; fix: …`, one per line.
 */
import type { Finding } from '../core/findings.ts';

export const MAX_WARNING_LENGTH = 120;
const MAX_WARNINGS = 20;

export function truncateWarning(text: string, limit = MAX_WARNING_LENGTH): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= limit) return flat;
  const room = limit - 1;
  const cut = flat.slice(0, room);
  const space = cut.lastIndexOf(' ');
  // Prefer a word boundary unless it throws away most of the line.
  return `${space > room * 0.6 ? cut.slice(0, space) : cut}…`;
}

export function limitWarnings(warnings: readonly string[]): string[] {
  const unique = [...new Set(warnings.map((warning) => truncateWarning(warning)))].filter((warning) => warning !== '');
  if (unique.length <= MAX_WARNINGS) return unique;
  return [
    ...unique.slice(0, MAX_WARNINGS - 1),
    `pinwarden: ${unique.length - MAX_WARNINGS + 1} more warnings not shown`,
  ];
}

export function violationLine(finding: Finding): string {
  return `[${finding.ruleId}] ${finding.path}: ${finding.message}; fix: ${finding.fix}`;
}

/**
 * Short form for a warning: the cause first, so the 120-character cut keeps it, then the rule id (always
 * kept: the message is cut, not the id) and the path when it fits. The fix rarely fits; the rule id says where to look.
 */
export function warningLine(finding: Finding): string {
  const full = `${finding.message} [${finding.ruleId} ${finding.path}]`;
  if (full.replace(/\s+/g, ' ').trim().length <= MAX_WARNING_LENGTH) return full;
  const suffix = ` [${finding.ruleId}]`;
  return `${truncateWarning(finding.message, MAX_WARNING_LENGTH - suffix.length)}${suffix}`;
}

export function denialMessage(object: string, findings: readonly Finding[]): string {
  const errors = findings.filter((finding) => finding.severity === 'error');
  return [`pinwarden denied ${object}:`, ...errors.map(violationLine)].join('\n');
}
