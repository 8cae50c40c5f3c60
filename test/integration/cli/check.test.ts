import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLUX_EXAMPLES } from '../../helpers/flux-data.ts';
import { runBuiltCli } from '../../helpers/cli.ts';

const POLICY = 'test/fixtures/policy.yaml';
const GOOD = `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: app, namespace: apps}
spec:
  interval: 5m
  url: oci://ghcr.io/stefanprodan/manifests/podinfo
  ref: {tag: 6.1.6}
  verify:
    provider: cosign
    matchOIDCIdentity:
      - issuer: '^https://token\\.actions\\.githubusercontent\\.com$'
        subject: '^https://github\\.com/stefanprodan/podinfo/\\.github/workflows/release\\.yml@refs/tags/.*$'
`;

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-cli-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

test('check over the shared examples lists rule ids as JSON and exits 1', async () => {
  const run = await runBuiltCli(['check', FLUX_EXAMPLES, '--config', POLICY, '--output', 'json']);
  assert.equal(run.code, 1, run.stderr);
  const report = JSON.parse(run.stdout) as {
    results: Array<{ verdict: string; violations: Array<{ rule: string }> }>;
    summary: Record<string, number>;
  };
  assert.equal(report.summary.objects, 45);
  assert.equal(report.summary.skipped, 7, 'the 7 Kustomizations are other kinds');
  const rules = new Set(report.results.flatMap((result) => result.violations.map((violation) => violation.rule)));
  for (const rule of [
    'verify-required',
    'keyless-identity-required',
    'identity-not-allowed',
    'digest-required',
    'insecure-not-allowed',
    'bucket-ignore-required',
    'verify-provider-not-allowed',
    'registry-not-allowed',
  ]) {
    assert.ok(rules.has(rule), `missing ${rule}`);
  }
  assert.equal(run.stderr, '');
});

test('a compliant object exits 0 with a summary line', async () => {
  const run = await runBuiltCli(['check', tempFile('good.yaml', GOOD), '--config', POLICY]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /1 object checked: 0 denied, 0 warned, 1 allowed, 0 skipped/);
});

test('warn mode admits with warnings and exits 0', async () => {
  const run = await runBuiltCli(['check', join(FLUX_EXAMPLES, 'ocirepo-01-sample-tag.yaml'), '--mode', 'warn']);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /WARN/);
  assert.match(run.stdout, /verify-required/);
  assert.ok(!run.stdout.includes('\u001b['), 'no colour when stdout is not a terminal');
});

test('text output groups by object, with file:line, fix and a summary', async () => {
  const run = await runBuiltCli([
    'check',
    join(FLUX_EXAMPLES, 'ocirepo-14-flux-export-verify-unanchored.yaml'),
    '--config',
    POLICY,
  ]);
  assert.equal(run.code, 1);
  assert.match(
    run.stdout,
    /OCIRepository\/flux-system\/podinfo .*ocirepo-14-flux-export-verify-unanchored\.yaml:3 DENY/,
  );
  assert.match(run.stdout, /identity-not-allowed {2}spec\.verify\.matchOIDCIdentity\[0\].issuer \(line 15\)/);
  assert.match(run.stdout, /fix: /);
  assert.match(run.stdout, /1 object checked: 1 denied/);
});

test('stdin, multi-document YAML and v1/List are read', async () => {
  const list = `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: source.toolkit.fluxcd.io/v1\n    kind: Bucket\n    metadata: {name: b1}\n    spec: {bucketName: b, endpoint: s3.amazonaws.com, interval: 5m, ignore: "*.md"}\n  - apiVersion: source.toolkit.fluxcd.io/v1\n    kind: Bucket\n    metadata: {name: b2}\n    spec: {}\n`;
  const run = await runBuiltCli(['check', '-', '--output', 'json'], {
    stdin: `${GOOD}---\n${list}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n`,
  });
  assert.equal(run.code, 1);
  const report = JSON.parse(run.stdout) as {
    results: Array<{ name: string; file: string; line: number; verdict: string }>;
    summary: Record<string, number>;
  };
  assert.deepEqual(
    report.results.map((result) => [result.name, result.verdict, result.line]),
    [
      ['app', 'deny', 1],
      ['b1', 'allow', 17],
      ['b2', 'deny', 21],
    ],
  );
  assert.equal(report.results[0]?.file, '<stdin>');
  assert.equal(report.summary.skipped, 1);
});

test('malformed YAML is exit 2 with file and line, and the other files are still checked', async () => {
  const broken = tempFile('broken.yaml', 'apiVersion: v1\nkind: [unclosed\n');
  const run = await runBuiltCli([
    'check',
    broken,
    join(FLUX_EXAMPLES, 'ocirepo-01-sample-tag.yaml'),
    '--output',
    'json',
  ]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /broken\.yaml:\d+: not valid YAML/);
  assert.equal((JSON.parse(run.stdout) as { summary: { objects: number } }).summary.objects, 1);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
});

test('an unreadable path is a one-line error, exit 2', async () => {
  const run = await runBuiltCli(['check', 'does/not/exist.yaml']);
  assert.equal(run.code, 2);
  assert.equal(run.stderr.trim().split('\n').length, 1);
  assert.match(run.stderr, /does\/not\/exist\.yaml: no such file or directory/);
});

test('a bad policy is exit 2 naming the field', async () => {
  const policy = tempFile(
    'policy.yaml',
    'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: p}\nspec:\n  ociRepository: {requireVerfy: true}\n',
  );
  const run = await runBuiltCli(['check', FLUX_EXAMPLES, '--config', policy]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /spec\.ociRepository\.requireVerfy.*unknown field/);
  assert.equal(run.stdout, '');
});

test('usage errors are exit 2: no input, unknown flag, bad --output', async () => {
  for (const args of [['check'], ['check', '.', '--frobnicate'], ['check', '.', '--output', 'xml'], ['nonsense']]) {
    const run = await runBuiltCli(args);
    assert.equal(run.code, 2, args.join(' '));
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  }
});

test('--help exits 0', async () => {
  const run = await runBuiltCli(['check', '--help']);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /--output <format>/);
});

test('SARIF 2.1.0 carries rules, results and file:line locations', async () => {
  const run = await runBuiltCli(['check', FLUX_EXAMPLES, '--config', POLICY, '--output', 'sarif']);
  assert.equal(run.code, 1);
  const sarif = JSON.parse(run.stdout);
  assert.equal(sarif.version, '2.1.0');
  const [sarifRun] = sarif.runs;
  const ruleIds = sarifRun.tool.driver.rules.map((rule: { id: string }) => rule.id);
  assert.ok(ruleIds.includes('identity-not-allowed'));
  assert.ok(sarifRun.results.length > 10);
  for (const result of sarifRun.results) {
    assert.equal(ruleIds[result.ruleIndex], result.ruleId);
    const location = result.locations[0].physicalLocation;
    assert.match(location.artifactLocation.uri, /^(file:\/\/\/|[^/]).*\.yaml$/);
    assert.ok(location.region.startLine >= 1);
    assert.ok(['error', 'warning'].includes(result.level));
  }
});

test('SARIF locations are valid URI references, also for stdin and paths with spaces', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden cli '));
  writeFileSync(
    join(dir, 'my app.yaml'),
    'apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata: {name: b}\nspec: {}\n',
  );
  const fromDir = await runBuiltCli(['check', 'my app.yaml', '--output', 'sarif'], { cwd: dir });
  const fromStdin = await runBuiltCli(['check', '-', '--output', 'sarif'], {
    stdin: 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata: {name: b}\nspec: {}\n',
  });
  const uriOf = (run: { stdout: string }) =>
    JSON.parse(run.stdout).runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri as string;
  assert.equal(uriOf(fromDir), 'my%20app.yaml');
  assert.equal(uriOf(fromStdin), '%3Cstdin%3E');
});

function aliasBomb(): string {
  const levels = ['  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i += 1)
    levels.push(`  a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(',')}]`);
  return `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: bomb}\nspec:\n${levels.join('\n')}\n`;
}

test('a YAML alias bomb is an input error with its file, not a crash or a hang; other files are still checked', async () => {
  const run = await runBuiltCli([
    'check',
    tempFile('bomb.yaml', aliasBomb()),
    join(FLUX_EXAMPLES, 'ocirepo-01-sample-tag.yaml'),
    '--output',
    'json',
  ]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /bomb\.yaml:1: not usable YAML: Excessive alias count/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  assert.equal((JSON.parse(run.stdout) as { summary: { objects: number } }).summary.objects, 1);
});

test('an alias bomb as the policy is PW_POLICY_INVALID, exit 2', async () => {
  const policy = tempFile('policy.yaml', aliasBomb().replace('kind: OCIRepository', 'kind: SourcePolicy'));
  const run = await runBuiltCli(['check', FLUX_EXAMPLES, '--config', policy]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /not usable YAML.*\[PW_POLICY_INVALID\]/);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});

test('check applies pinned-from-mismatch like /validate: a digest pinned from another tag is denied (#7 gap)', async () => {
  const stale = GOOD.replace(
    'metadata: {name: app, namespace: apps}',
    'metadata: {name: app, namespace: apps, annotations: {pinwarden.dev/pinned-from: "tag:6.1.5"}}',
  ).replace('ref: {tag: 6.1.6}', `ref: {tag: 6.1.6, digest: "sha256:${'b'.repeat(64)}"}`);
  const run = await runBuiltCli(['check', tempFile('stale.yaml', stale), '--config', POLICY]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /pinned-from-mismatch/);
  assert.match(
    run.stdout,
    /stale pin: spec\.ref\.digest was pinned from "tag:6\.1\.5" but spec\.ref names "tag:6\.1\.6"/,
  );
  const fresh = stale.replace('tag:6.1.5', 'tag:6.1.6');
  const ok = await runBuiltCli(['check', tempFile('fresh.yaml', fresh), '--config', POLICY]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
});
