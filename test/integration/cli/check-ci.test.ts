// `check` in CI pipelines (issue 14), on the built CLI: input selection (--exclude, .pinwardenignore, Helm
// templates), empty input, kustomize origin annotations, nothing skipped silently, the CRD schema first,
// missing fields at their parent key, and a bounded heap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT, runBuiltCli } from '../../helpers/cli.ts';

/**
 * Allowed by POLICY, which does not require spec.verify: these tests are about input handling, so no verdict
 * here depends on an identity proof (whose time budget a loaded CI machine can exhaust).
 */
const VALID_OCI = `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: app
  namespace: apps
spec:
  interval: 5m
  url: oci://ghcr.io/acme/app
  ref:
    tag: v1
`;
const POLICY = join(mkdtempSync(join(tmpdir(), 'pinwarden-check-ci-policy-')), 'policy.yaml');
writeFileSync(
  POLICY,
  'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: ci-test}\nspec:\n  ociRepository:\n    requireVerify: false\n',
);

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pinwarden-check-ci-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

interface JsonReport {
  results: Array<{
    kind: string;
    name: string;
    file: string;
    line: number;
    verdict: string;
    violations: Array<{ rule: string; path: string; line: number; severity: string }>;
  }>;
  skipped: Array<{ apiVersion: string; kind: string; name: string; file: string; line: number; reason: string }>;
  summary: { objects: number; denied: number; warned: number; allowed: number; skipped: number };
  emptyFiles?: string[];
  notes?: string[];
  errors?: unknown[];
}

test('a repository root: Helm templates skipped with one line, --exclude and .pinwardenignore leave paths out', async () => {
  const root = tree({
    'clusters/prod/oci.yaml': VALID_OCI,
    'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\n',
    'charts/web/values.yaml': 'replicas: 2\n',
    'charts/web/templates/deployment.yaml':
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  {{- include "labels" . | nindent 2 }}\n',
    'charts/web/templates/service.yaml': '{{- if .Values.service }}\nkind: Service\n{{- end }}\n',
    'tests/broken.yaml': 'kind: [unclosed\n',
    'generated/out.yaml': 'also: [broken\n',
    'docs/schema.json': '{"not": "a manifest"',
    '.pinwardenignore': '# generated output\ngenerated/\n',
  });
  const withoutExclude = await runBuiltCli(['check', '.', '-o', 'json'], { cwd: root });
  assert.equal(withoutExclude.code, 2, 'tests/broken.yaml and docs/schema.json are input errors until excluded');
  assert.match(withoutExclude.stderr, /tests\/broken\.yaml:\d+: not valid YAML/);
  assert.doesNotMatch(
    withoutExclude.stderr,
    /templates|generated/,
    'Helm templates and .pinwardenignore paths are never parsed',
  );

  const run = await runBuiltCli(['check', '.', '--exclude', 'tests/', '--exclude', '*.json', '--config', POLICY], {
    cwd: root,
  });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(
    run.stdout,
    /note skipped 1 Helm chart templates\/ directory \(templates are not manifests; check the rendered chart\): charts\/web\/templates\n/,
  );
  assert.match(run.stdout, /note excluded 3 paths \(--exclude, \.pinwardenignore\)\n/);
  assert.match(
    run.stdout,
    /1 object checked: 0 denied, 0 warned, 1 allowed, 2 skipped\n$/,
    'Chart.yaml and values.yaml are read as plain data and skipped',
  );

  const namedFile = await runBuiltCli(
    ['check', 'tests/broken.yaml', 'clusters/prod/oci.yaml', '--exclude', 'tests/**', '--config', POLICY],
    { cwd: root },
  );
  assert.equal(namedFile.code, 0, `--exclude also applies to files named on the command line: ${namedFile.stderr}`);
});

test('empty input is an error in CI unless --allow-empty; an empty file among others is counted and named', async () => {
  const failedBuild = await runBuiltCli(['check', '-'], { stdin: '' });
  assert.equal(failedBuild.code, 2);
  assert.match(
    failedBuild.stderr,
    /^pinwarden: no documents read from stdin: nothing was checked .*--allow-empty.* \[PW_INPUT_EMPTY\]\n$/,
  );
  const allowed = await runBuiltCli(['check', '-', '--allow-empty'], { stdin: '# nothing\n---\n' });
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.match(allowed.stdout, /0 objects checked: 0 denied, 0 warned, 0 allowed, 0 skipped, 1 empty file\n$/);

  const root = tree({ 'empty.yaml': '', 'comments.yaml': '# only a comment\n---\n', 'oci.yaml': VALID_OCI });
  const onlyEmpty = await runBuiltCli(['check', 'empty.yaml', 'comments.yaml'], { cwd: root });
  assert.equal(onlyEmpty.code, 2);
  assert.match(onlyEmpty.stderr, /no documents read from empty\.yaml, comments\.yaml.*\[PW_INPUT_EMPTY\]/);
  const mixed = await runBuiltCli(['check', '.', '--config', POLICY], { cwd: root });
  assert.equal(mixed.code, 0, mixed.stderr);
  assert.match(mixed.stdout, /^empty comments\.yaml: no documents\nempty empty\.yaml: no documents\n/m);
  assert.match(mixed.stdout, /1 object checked: 0 denied, 0 warned, 1 allowed, 0 skipped, 2 empty files\n$/);
  const json = JSON.parse(
    (await runBuiltCli(['check', '.', '-o', 'json', '--config', POLICY], { cwd: root })).stdout,
  ) as JsonReport;
  assert.deepEqual(json.emptyFiles, ['comments.yaml', 'empty.yaml']);
});

/** kustomize v5.7.1 as scripts/run-tests.ts installs it (PINWARDEN_KUSTOMIZE), else the Go bin directory. */
function kustomize(): string | undefined {
  const candidates = [
    process.env.PINWARDEN_KUSTOMIZE,
    join(process.env.GOPATH ?? join(homedir(), 'go'), 'bin', 'kustomize'),
  ];
  return candidates.find((candidate): candidate is string => candidate !== undefined && existsSync(candidate));
}

test('kustomize build with origin annotations: findings point at the file in Git and its lines (text and SARIF)', async (t) => {
  const binary = kustomize();
  if (binary === undefined) {
    t.skip('kustomize is not installed (npm test installs it: scripts/run-tests.ts)');
    return;
  }
  const root = tree({
    'base/kustomization.yaml': 'resources: [oci.yaml]\n',
    'base/oci.yaml':
      '# the app source\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: app\nspec:\n  interval: 5m\n  url: oci://ghcr.io/acme/app\n  ref:\n    tag: v1\n',
    'overlays/prod/kustomization.yaml':
      'namespace: prod\nnamePrefix: prod-\nbuildMetadata: [originAnnotations]\nresources: [../../base]\n',
  });
  const built = execFileSync(binary, ['build', 'overlays/prod'], { cwd: root, encoding: 'utf8' });
  assert.match(built, /config\.kubernetes\.io\/origin: \|\n\s+path: \.\.\/\.\.\/base\/oci\.yaml/);
  const text = await runBuiltCli(['check', '-', '--origin-root', 'overlays/prod'], { cwd: root, stdin: built });
  assert.equal(text.code, 1, text.stderr);
  // The object starts at line 2 of base/oci.yaml; spec.verify is missing, so its line is the `spec:` key (6).
  assert.match(
    text.stdout,
    /^OCIRepository\/prod\/prod-app base\/oci\.yaml:2 DENY \(rule default\)\n {2}✖ error {3}verify-required {2}spec\.verify \(line 6\)/,
  );
  const sarif = JSON.parse(
    (await runBuiltCli(['check', '-', '--origin-root', 'overlays/prod', '-o', 'sarif'], { cwd: root, stdin: built }))
      .stdout,
  );
  const location = sarif.runs[0].results[0].locations[0].physicalLocation;
  assert.deepEqual(location, {
    artifactLocation: { uri: 'base/oci.yaml', uriBaseId: '%SRCROOT%' },
    region: { startLine: 6 },
  });
  const withoutRoot = await runBuiltCli(['check', '-'], { cwd: root, stdin: built });
  assert.match(
    withoutRoot.stdout,
    /note origin file not found under --origin-root, reported at line 1: \.\.\/\.\.\/base\/oci\.yaml/,
    'a wrong root is said, not hidden',
  );
});

test('internal.config.kubernetes.io/path and index (kpt, KRM functions) point at the document in its file', async () => {
  const root = tree({
    'sources/all.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n${VALID_OCI.replace('  url: oci://ghcr.io/acme/app\n', '')}`,
  });
  const rendered = VALID_OCI.replace('  url: oci://ghcr.io/acme/app\n', '').replace(
    '  namespace: apps\n',
    "  namespace: apps\n  annotations:\n    internal.config.kubernetes.io/path: sources/all.yaml\n    internal.config.kubernetes.io/index: '1'\n",
  );
  const run = await runBuiltCli(['check', '-', '-o', 'json'], { cwd: root, stdin: rendered });
  const report = JSON.parse(run.stdout) as JsonReport;
  const [result] = report.results;
  assert.equal(result?.file, 'sources/all.yaml');
  assert.equal(result?.line, 5);
  const schema = result?.violations.find((violation) => violation.rule === 'schema-invalid');
  assert.deepEqual(
    [schema?.path, schema?.line],
    ['spec.url', 10],
    'missing spec.url: the spec: key of the document in its file',
  );
});

test('nothing is skipped silently: sources pinwarden does not govern are named with a reason in text, JSON and SARIF', async () => {
  const input = [
    'apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: git, namespace: flux-system}\nspec: {url: https://github.com/acme/app}\n',
    'apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts}\nspec: {type: oci, url: oci://ghcr.io/acme/charts}\n',
    'apiVersion: source.toolkit.fluxcd.io/v1beta1\nkind: Bucket\nmetadata: {name: old}\nspec: {bucketName: b, endpoint: s3.amazonaws.com}\n',
    'apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata: {name: apps}\nspec:\n  resourcesTemplate: |\n    apiVersion: source.toolkit.fluxcd.io/v1\n    kind: OCIRepository\n    metadata: {name: "<< inputs.name >>"}\n',
    'apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata: {name: flux}\nspec:\n  sync: {kind: OCIRepository, url: oci://ghcr.io/acme/fleet, ref: latest}\n',
    'apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata: {name: plain}\nspec:\n  resources: [{apiVersion: v1, kind: ConfigMap}]\n',
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n',
    VALID_OCI,
  ].join('---\n');
  const json = await runBuiltCli(['check', '-', '-o', 'json', '--config', POLICY], { stdin: input });
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as JsonReport;
  assert.deepEqual(report.summary, { objects: 1, denied: 0, warned: 0, allowed: 1, skipped: 7 });
  const reasons = Object.fromEntries(report.skipped.map((entry) => [`${entry.kind}/${entry.name}`, entry.reason]));
  assert.match(reasons['GitRepository/git'] ?? '', /GitRepository is not a source pinwarden governs/);
  assert.match(reasons['HelmRepository/charts'] ?? '', /HelmRepository of type oci is not governed/);
  assert.match(reasons['Bucket/old'] ?? '', /Bucket source\.toolkit\.fluxcd\.io\/v1beta1 is not governed/);
  assert.match(reasons['ResourceSet/apps'] ?? '', /ResourceSet generates OCIRepository objects/);
  assert.match(reasons['FluxInstance/flux'] ?? '', /FluxInstance creates its spec\.sync OCIRepository/);
  assert.equal(reasons['ResourceSet/plain'], 'not a Flux source');
  assert.equal(reasons['ConfigMap/settings'], 'not a Flux source');
  assert.ok(report.skipped.every((entry) => entry.file === '<stdin>' && entry.line >= 1));

  const text = await runBuiltCli(['check', '-'], { stdin: input });
  const named = text.stdout.split('\n').filter((line) => line.startsWith('skipped '));
  assert.deepEqual(
    named.map((line) => line.split(' ')[1]),
    ['GitRepository/flux-system/git', 'HelmRepository/charts', 'Bucket/old', 'ResourceSet/apps', 'FluxInstance/flux'],
  );

  const sarif = JSON.parse((await runBuiltCli(['check', '-', '-o', 'sarif'], { stdin: input })).stdout);
  const [sarifRun] = sarif.runs;
  const notes = sarifRun.results.filter((result: { level: string }) => result.level === 'note');
  assert.equal(notes.length, 5);
  for (const note of notes) {
    assert.equal(note.ruleId, 'not-governed');
    assert.equal(sarifRun.tool.driver.rules[note.ruleIndex].id, 'not-governed');
  }
});

test('schema first: an OCIRepository without spec.url cannot pass; schema-invalid comes before the policy rules', async () => {
  const input =
    'apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: nourl\nspec:\n  interval: 5 minutes\n  ref:\n    digest: "sha256:' +
    'a'.repeat(64) +
    '"\n  verify:\n    provider: cosign\n    secretRef: {name: key}\n';
  const run = await runBuiltCli(['check', '-', '-o', 'json'], { stdin: input });
  assert.equal(run.code, 1, run.stderr);
  const [result] = (JSON.parse(run.stdout) as JsonReport).results;
  assert.equal(result?.verdict, 'deny');
  const schema = result.violations.filter((violation) => violation.rule === 'schema-invalid');
  assert.deepEqual(
    schema.map((violation) => [violation.path, violation.line]),
    [
      ['spec.url', 5],
      ['spec.interval', 6],
    ],
  );
  assert.equal(result.violations[0]?.rule, 'schema-invalid', 'schema findings lead');
  const v1beta2 = await runBuiltCli(['check', '-', '-o', 'json'], { stdin: input.replace('/v1\n', '/v1beta2\n') });
  assert.ok(
    (JSON.parse(v1beta2.stdout) as JsonReport).results[0]?.violations.some(
      (violation) => violation.rule === 'schema-invalid' && violation.path === 'spec.url',
    ),
  );
  const warn = await runBuiltCli(['check', '-', '--mode', 'warn', '-o', 'json'], { stdin: input });
  assert.equal(warn.code, 0, 'warn mode: a schema violation is a warning like every finding');
  assert.ok(
    (JSON.parse(warn.stdout) as JsonReport).results[0]?.violations.every(
      (violation) => violation.severity === 'warning',
    ),
  );
});

test('a missing field points at the line of its nearest existing parent key', async () => {
  const input =
    'apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: app\nspec:\n  interval: 5m\n  url: oci://ghcr.io/acme/app\n  ref:\n    tag: v1\n  verify:\n    provider: cosign\n    matchOIDCIdentity:\n      - issuer: "^https://token\\\\.actions\\\\.githubusercontent\\\\.com$"\n        subject: ""\n';
  const run = await runBuiltCli(['check', '-', '-o', 'json'], {
    stdin: input.replace(
      '  verify:\n    provider: cosign\n    matchOIDCIdentity:\n      - issuer: "^https://token\\\\.actions\\\\.githubusercontent\\\\.com$"\n        subject: ""\n',
      '',
    ),
  });
  const [result] = (JSON.parse(run.stdout) as JsonReport).results;
  const verify = result?.violations.find((violation) => violation.rule === 'verify-required');
  assert.deepEqual(
    [verify?.path, verify?.line],
    ['spec.verify', 5],
    'spec.verify is missing: the `spec:` key (line 5), not its first child (line 6)',
  );
});

test(
  'streaming: 2,000 files complete under a 96 MB heap cap (collect-everything could not; issue 14)',
  { timeout: 600_000 },
  () => {
    const root = mkdtempSync(join(tmpdir(), 'pinwarden-check-many-'));
    for (let i = 0; i < 2000; i += 1) {
      const dir = join(root, `d${i % 30}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, `f${i}.yaml`),
        VALID_OCI.replace('name: app', `name: app-${i}`) +
          `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}}\ndata:\n${Array.from({ length: 40 }, (_, k) => `  k${k}: "${'v'.repeat(40)}"`).join('\n')}\n`,
      );
    }
    const run = spawnSync(
      process.execPath,
      ['--max-old-space-size=96', join(REPO_ROOT, 'dist', 'main.js'), 'check', root, '-o', 'json', '--config', POLICY],
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    assert.equal(run.status, 0, run.stderr.slice(0, 500));
    const report = JSON.parse(run.stdout) as JsonReport;
    assert.deepEqual(report.summary, { objects: 2000, denied: 0, warned: 0, allowed: 2000, skipped: 2000 });
  },
);
