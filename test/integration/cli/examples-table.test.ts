// Every shared Flux example through `check` (in-process, the same code path as the CLI), with the verdict
// documented per file in test/fixtures/examples-verdicts.yaml under test/fixtures/policy.yaml.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { PassThrough } from 'node:stream';
import { parse } from 'yaml';
import { buildReport } from '../../../src/cli/commands/check.ts';
import { readManifests } from '../../../src/cli/input/read-manifests.ts';
import { loadPolicy } from '../../../src/core/policy/index.ts';
import { FLUX_EXAMPLES, exampleFiles } from '../../helpers/flux-data.ts';

interface Expected {
  verdict: string;
  rules: string[];
  why: string;
}

const expected = parse(
  readFileSync(new URL('../../fixtures/examples-verdicts.yaml', import.meta.url), 'utf8'),
) as Record<string, Expected>;
const policy = loadPolicy(readFileSync(new URL('../../fixtures/policy.yaml', import.meta.url), 'utf8'), 'policy.yaml');
const manifests = await readManifests([FLUX_EXAMPLES], new PassThrough(), '/');
const report = buildReport(manifests.objects, policy);

test('every source example has a documented verdict, and every documented file exists', () => {
  const sources = exampleFiles().filter((name) => !name.startsWith('ks-'));
  assert.deepEqual(Object.keys(expected).sort(), sources);
  assert.deepEqual(manifests.problems, []);
});

for (const [file, want] of Object.entries(expected)) {
  test(`${file}: ${want.verdict} (${want.why})`, () => {
    const result = report.results.find((candidate) => basename(candidate.file) === file);
    assert.ok(result, `no result for ${file}`);
    assert.equal(result.verdict, want.verdict);
    assert.deepEqual([...new Set(result.violations.map((violation) => violation.ruleId))].sort(), want.rules);
    for (const violation of result.violations)
      assert.ok(violation.line >= result.line, 'violation lines point into the object');
  });
}
