/**
 * Table tests for one rule (the ESLint RuleTester habit): each valid case must yield no finding of the
 * rule, each invalid case exactly the expected paths. Objects and policy overrides are written as YAML.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { evaluate } from '../../src/core/evaluate.ts';
import { loadPolicy, type SourcePolicy } from '../../src/core/policy/index.ts';
import type { VerifySecretFacts } from '../../src/core/trust/index.ts';

export interface RuleCase {
  name: string;
  /** The object as YAML; `kind`/`apiVersion` default to an OCIRepository v1 when absent. */
  yaml: string;
  /** YAML for `spec` of the SourcePolicy (defaults apply to everything else). */
  policy?: string;
  phase?: 'admission' | 'offline';
  pinFailure?: string;
  /** What the webhook saw in the verify Secrets (fingerprints, digest); absent = nobody could look. */
  verifySecrets?: VerifySecretFacts;
}

export interface InvalidRuleCase extends RuleCase {
  paths: string[];
  severity?: 'error' | 'warning';
  /** Substrings the message must contain. */
  messageIncludes?: string[];
}

export function policyFrom(specYaml = '{}'): SourcePolicy {
  const spec = specYaml.trim() === '' ? '{}' : specYaml;
  const indented = spec
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  return loadPolicy(
    `apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: test}\nspec:\n${indented}\n`,
    'test',
  );
}

export function objectFrom(yaml: string): unknown {
  const parsed = parse(yaml) as Record<string, unknown>;
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'app', namespace: 'apps' },
    ...parsed,
  };
}

export function findingsOf(ruleId: string, testCase: RuleCase) {
  const result = evaluate(objectFrom(testCase.yaml), policyFrom(testCase.policy), {
    phase: testCase.phase ?? 'admission',
    ...(testCase.pinFailure ? { pinFailure: testCase.pinFailure } : {}),
    ...(testCase.verifySecrets ? { verifySecrets: testCase.verifySecrets } : {}),
  });
  return result.findings.filter((finding) => finding.ruleId === ruleId);
}

export function ruleTester(ruleId: string, cases: { valid: RuleCase[]; invalid: InvalidRuleCase[] }): void {
  for (const testCase of cases.valid) {
    test(`${ruleId} allows: ${testCase.name}`, () => {
      assert.deepEqual(findingsOf(ruleId, testCase), []);
    });
  }
  for (const testCase of cases.invalid) {
    test(`${ruleId} reports: ${testCase.name}`, () => {
      const findings = findingsOf(ruleId, testCase);
      assert.deepEqual(
        findings.map((finding) => finding.path),
        testCase.paths,
      );
      for (const finding of findings) {
        assert.equal(finding.severity, testCase.severity ?? 'error');
        assert.ok(finding.fix.length > 0, 'every finding says how to fix it');
        for (const text of testCase.messageIncludes ?? [])
          assert.ok(finding.message.includes(text), `${finding.message} ∌ ${text}`);
      }
    });
  }
}
