/** `--output text`: grouped by object, colour only on a terminal, skipped sources named, one summary line at the end. */
import type { CheckReport, CheckResult } from './report.ts';
import { describeObject } from './report.ts';

const COLOURS = {
  red: '\u001b[31m',
  yellow: '\u001b[33m',
  green: '\u001b[32m',
  dim: '\u001b[2m',
  bold: '\u001b[1m',
  reset: '\u001b[0m',
};
type Colour = keyof typeof COLOURS;
type Paint = (colour: Colour, text: string) => string;

export function formatText(report: CheckReport, useColour: boolean): string {
  const paint: Paint = (colour, text) => (useColour ? `${COLOURS[colour]}${text}${COLOURS.reset}` : text);
  const blocks = report.results
    .filter((result) => result.violations.length > 0 || (result.waived?.length ?? 0) > 0)
    .map((result) => formatResult(result, paint));
  const skipped = report.skipped
    .filter((entry) => entry.notable)
    .map(
      (entry) =>
        `${paint('dim', 'skipped')} ${describeObject(entry.object)} ${paint('dim', `${entry.file}:${entry.line}`)}: ${entry.reason}\n`,
    );
  const empty = report.emptyFiles.map((file) => `${paint('dim', 'empty')} ${file}: no documents\n`);
  const notes = report.notes.map((note) => `${paint('dim', 'note')} ${note}\n`);
  const problems = report.problems.map(
    (problem) =>
      `${problem.file}${problem.line ? `:${problem.line}` : ''}: ${paint('red', 'error')} ${problem.message}\n`,
  );
  const { objects, denied, warned, allowed, skipped: skippedCount } = report.summary;
  const extras = [
    report.emptyFiles.length > 0
      ? `${report.emptyFiles.length} empty file${report.emptyFiles.length === 1 ? '' : 's'}`
      : '',
    problems.length > 0 ? `${problems.length} input error${problems.length === 1 ? '' : 's'}` : '',
  ].filter((extra) => extra !== '');
  const summary = `${objects} object${objects === 1 ? '' : 's'} checked: ${paint(denied > 0 ? 'red' : 'green', `${denied} denied`)}, ${paint(warned > 0 ? 'yellow' : 'green', `${warned} warned`)}, ${allowed} allowed, ${skippedCount} skipped${extras.map((extra) => `, ${extra}`).join('')}\n`;
  const tail = [...skipped, ...empty, ...notes, ...problems].join('');
  return [...blocks, ...(tail ? [tail] : []), summary].join(blocks.length > 0 ? '\n' : '');
}

function formatResult(result: CheckResult, paint: Paint): string {
  const verdict =
    result.verdict === 'deny'
      ? paint('red', 'DENY')
      : result.verdict === 'warn'
        ? paint('yellow', 'WARN')
        : paint('green', 'ALLOW');
  const rule = result.rule !== undefined ? ` ${paint('dim', `(rule ${result.rule})`)}` : '';
  const header = `${paint('bold', describeObject(result.object))} ${paint('dim', `${result.file}:${result.line}`)} ${verdict}${rule}\n`;
  const lines = result.violations.map((violation) => {
    const mark = violation.severity === 'error' ? paint('red', '✖ error  ') : paint('yellow', '⚠ warning');
    return `  ${mark} ${violation.ruleId}  ${violation.path} ${paint('dim', `(line ${violation.line})`)}\n      ${violation.message}\n      ${paint('dim', `fix: ${violation.fix}`)}\n`;
  });
  const waived = (result.waived ?? []).map(
    (finding) =>
      `  ${paint('dim', '○ waived ')} ${finding.ruleId}  ${finding.path}\n      ${finding.message}\n      ${paint('dim', `by exception ${finding.exception} until ${finding.expires}: ${finding.reason}`)}\n`,
  );
  return header + lines.join('') + waived.join('');
}
