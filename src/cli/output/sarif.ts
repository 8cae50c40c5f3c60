/**
 * `--output sarif`: SARIF 2.1.0 as GitHub code scanning ingests it: the full rule catalogue in
 * tool.driver.rules, one result per violation with a file:line location and the object as a logical location.
 */
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { RULES } from '../../core/rules/index.ts';
import type { CheckReport, CheckResult, Violation } from './report.ts';
import { describeObject } from './report.ts';

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
const INFORMATION_URI = 'https://github.com/pinwarden/pinwarden';

export function formatSarif(report: CheckReport, toolVersion: string): string {
  const ruleIndex = new Map(RULES.map((rule, index) => [rule.id, index]));
  const results = report.results.flatMap((result) =>
    result.violations.map((violation) => sarifResult(result, violation, ruleIndex.get(violation.ruleId) ?? -1)),
  );
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'pinwarden',
            informationUri: INFORMATION_URI,
            version: toolVersion,
            semanticVersion: toolVersion,
            rules: RULES.map((rule) => ({
              id: rule.id,
              name: rule.id,
              shortDescription: { text: rule.summary },
              fullDescription: { text: rule.summary },
              help: { text: rule.summary },
              defaultConfiguration: { level: rule.severity === 'error' ? 'error' : 'warning' },
              properties: { tags: ['security', 'flux', rule.kind] },
            })),
          },
        },
        columnKind: 'unicodeCodePoints',
        originalUriBaseIds: { '%SRCROOT%': { description: { text: 'The directory pinwarden check ran in.' } } },
        results,
        invocations: [{ executionSuccessful: report.problems.length === 0, toolExecutionNotifications: report.problems.map((problem) => ({ level: 'error', message: { text: problem.message }, locations: [location(problem.file, problem.line ?? 1)] })) }],
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

function sarifResult(result: CheckResult, violation: Violation, ruleIndex: number): object {
  return {
    ruleId: violation.ruleId,
    ...(ruleIndex >= 0 ? { ruleIndex } : {}),
    level: violation.severity === 'error' ? 'error' : 'warning',
    message: { text: `${describeObject(result.object)}: ${violation.path}: ${violation.message}. Fix: ${violation.fix}` },
    locations: [
      {
        ...location(result.file, violation.line),
        logicalLocations: [{ fullyQualifiedName: `${describeObject(result.object)}/${violation.path}`, kind: 'object' }],
      },
    ],
    partialFingerprints: { objectRule: `${describeObject(result.object)}|${violation.ruleId}|${violation.path}` },
  };
}

function location(file: string, line: number): { physicalLocation: object } {
  const artifactLocation = isAbsolute(file)
    ? { uri: pathToFileURL(file).href }
    : { uri: encodeURI(file.split('\\').join('/').replace(/^\.\//, '')), uriBaseId: '%SRCROOT%' };
  return { physicalLocation: { artifactLocation, region: { startLine: Math.max(1, line) } } };
}
