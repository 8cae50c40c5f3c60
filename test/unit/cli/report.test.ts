// The check report keeps copies of what it reads, not the parsed input: its results must not hold the files' texts alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseSource } from '../../../src/cli/input/read-manifests.ts';
import { ReportBuilder } from '../../../src/cli/output/report.ts';
import { freshString as fresh } from '../../../src/core/fresh-string.ts';
import { evaluate } from '../../../src/core/evaluate.ts';
import { loadPolicy } from '../../../src/core/policy/index.ts';

test('fresh copies a string: same characters, whatever they are', () => {
  for (const text of ['', 'a', 'source.toolkit.fluxcd.io/v1', 'ünïcödé ✓ 𝄞 and more than thirteen', 'x'.repeat(5000)]) {
    assert.equal(fresh(text), text);
  }
});

test('results and skipped entries do not keep the text they were read from', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const policy = loadPolicy(
    'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: t}\nspec: {}\n',
    'test',
  );
  const files = 16;
  const read = (index: number, padding: string): string => {
    const name = `long-object-name-number-${index}-${'n'.repeat(40)}`;
    return (
      `${padding}${index}\n` +
      `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: ${name}\n  namespace: team-${'t'.repeat(30)}\n` +
      `spec:\n  interval: 5m\n  url: oci://ghcr.io/acme/${name}\n  ref: {tag: latest}\n---\n` +
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}}\n`
    );
  };
  const check = (builder: ReportBuilder, index: number, padding: string): void => {
    for (const manifest of parseSource(`file-${index}.yaml`, read(index, padding)).objects) {
      builder.add(manifest, evaluate(manifest.object, policy, { phase: 'offline' }));
    }
  };
  check(new ReportBuilder('enforce'), 0, '# warm-up: compiles the schemas and the policy once'); // not measured
  const builder = new ReportBuilder('enforce');
  const padding = `# ${'x'.repeat(1024 * 1024)}\n`; // 1 Mi characters in each text, copied into it anew
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let index = 0; index < files; index += 1) check(builder, index, padding.slice(0, -1));
  const report = builder.finish();
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  assert.equal(report.results.length, files);
  assert.equal(report.skipped.length, files);
  assert.ok(report.results.every((result) => result.violations.length > 0));
  // Kept texts would be 16 × 1 MiB (measured without the copy: 19 MiB); the results are a few KiB.
  assert.ok(grown < 6 * 1024 * 1024, `heap grew by ${Math.round(grown / 1024)} KiB`);
});
