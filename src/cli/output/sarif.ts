/**
 * `--output sarif`: SARIF 2.1.0 as GitHub code scanning ingests it: the full rule catalogue in
 * tool.driver.rules, one result per violation with a file:line location and the object as a logical location.
 */
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { RULES } from '../../core/rules/index.ts';
import { SCHEMA_RULE } from '../../core/flux/index.ts';
import type { CheckReport, CheckResult, SkippedObject, Violation } from './report.ts';
import { describeObject } from './report.ts';

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
const INFORMATION_URI = 'https://github.com/pinwarden/pinwarden';

/** The rule catalogue plus the two `check`-only entries: the CRD schema check and the not-governed note. */
const NOT_GOVERNED = {
  id: 'not-governed',
  summary: 'A Flux source (or a generator of sources) pinwarden does not check; the note says why.',
};
const DESCRIPTORS = [
  ...RULES.map((rule) => ({
    id: rule.id,
    summary: rule.summary,
    level: rule.severity === 'error' ? 'error' : 'warning',
    tag: rule.kind,
  })),
  { id: SCHEMA_RULE.id, summary: SCHEMA_RULE.summary, level: 'error', tag: 'schema' },
  { id: NOT_GOVERNED.id, summary: NOT_GOVERNED.summary, level: 'note', tag: 'coverage' },
];

export function formatSarif(report: CheckReport, toolVersion: string): string {
  const ruleIndex = new Map(DESCRIPTORS.map((rule, index) => [rule.id, index]));
  const results = [
    ...report.results.flatMap((result) =>
      result.violations.map((violation) => sarifResult(result, violation, ruleIndex.get(violation.ruleId) ?? -1)),
    ),
    ...report.skipped
      .filter((entry) => entry.notable)
      .map((entry) => skippedNote(entry, ruleIndex.get(NOT_GOVERNED.id) ?? -1)),
  ];
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
            rules: DESCRIPTORS.map((rule) => ({
              id: rule.id,
              name: rule.id,
              shortDescription: { text: rule.summary },
              fullDescription: { text: rule.summary },
              help: { text: rule.summary },
              defaultConfiguration: { level: rule.level },
              properties: { tags: ['security', 'flux', rule.tag] },
            })),
          },
        },
        columnKind: 'unicodeCodePoints',
        originalUriBaseIds: { '%SRCROOT%': { description: { text: 'The directory pinwarden check ran in.' } } },
        results,
        invocations: [
          {
            executionSuccessful: report.problems.length === 0,
            toolExecutionNotifications: report.problems.map((problem) => ({
              level: 'error',
              message: { text: problem.message },
              locations: [location(problem.file, problem.line ?? 1)],
            })),
          },
        ],
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
    message: {
      text: `${describeObject(result.object)}: ${violation.path}: ${violation.message}. Fix: ${violation.fix}`,
    },
    locations: [
      {
        ...location(result.file, violation.line),
        logicalLocations: [
          { fullyQualifiedName: `${describeObject(result.object)}/${violation.path}`, kind: 'object' },
        ],
      },
    ],
    partialFingerprints: { objectRule: `${describeObject(result.object)}|${violation.ruleId}|${violation.path}` },
  };
}

function skippedNote(entry: SkippedObject, ruleIndex: number): object {
  return {
    ruleId: NOT_GOVERNED.id,
    ruleIndex,
    level: 'note',
    message: { text: `${describeObject(entry.object)}: skipped: ${entry.reason}` },
    locations: [
      {
        ...location(entry.file, entry.line),
        logicalLocations: [{ fullyQualifiedName: describeObject(entry.object), kind: 'object' }],
      },
    ],
    partialFingerprints: { objectRule: `${describeObject(entry.object)}|${NOT_GOVERNED.id}` },
  };
}

function location(file: string, line: number): { physicalLocation: object } {
  const artifactLocation = isAbsolute(file)
    ? { uri: pathToFileURL(file).href }
    : { uri: encodeURI(file.split('\\').join('/').replace(/^\.\//, '')), uriBaseId: '%SRCROOT%' };
  return { physicalLocation: { artifactLocation, region: { startLine: Math.max(1, line) } } };
}
