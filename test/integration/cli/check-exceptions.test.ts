// `check` over the README cookbook (examples/cookbook): rules scoped per source, Namespace labels from the
// input, SourcePolicyExceptions with --exceptions, expiry judged at --at (the built CLI, real files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuiltCli } from '../../helpers/cli.ts';

const POLICY = 'examples/cookbook/policy.yaml';
const FLEET = 'examples/cookbook/fleet';
const EXCEPTIONS = 'examples/cookbook/exceptions.yaml';
const NOW = '2026-12-03T00:00:00Z';

interface JsonResult {
  name: string;
  namespace: string | null;
  verdict: string;
  policyRule?: string;
  violations: Array<{ rule: string; severity: string; message: string }>;
  waived?: Array<{ rule: string; exception: string; reason: string; expires: string }>;
}

async function json(args: string[]): Promise<{
  code: number | null;
  stderr: string;
  results: Map<string, JsonResult>;
  expired: Array<{ exception: string }> | undefined;
}> {
  const run = await runBuiltCli(['check', FLEET, '--config', POLICY, '-o', 'json', ...args]);
  const parsed = JSON.parse(run.stdout) as {
    results: JsonResult[];
    exceptions?: { expired: Array<{ exception: string }> };
  };
  return {
    code: run.code,
    stderr: run.stderr,
    results: new Map(parsed.results.map((result) => [`${result.namespace}/${result.name}`, result])),
    expired: parsed.exceptions?.expired,
  };
}

test('every verdict names the rule that decided it', async () => {
  const { code, results } = await json(['--exceptions', EXCEPTIONS, '--at', NOW]);
  assert.equal(code, 1);
  const rules = Object.fromEntries([...results].map(([id, result]) => [id, result.policyRule]));
  assert.deepEqual(rules, {
    'apps/billing': 'own-apps',
    'apps/payments': 'own-apps',
    'flux-system/flux-manifests': 'flux',
    'apps/podinfo': 'podinfo-chart',
    'gateway/vendor-gateway': 'vendor-charts',
    'team-a/storefront': 'tenants',
    'team-a/legacy-reports': 'tenants',
  });
  assert.equal(results.get('apps/billing')?.verdict, 'allow');
  assert.equal(
    results.get('apps/podinfo')?.verdict,
    'allow',
    'the podinfo rule pins semver ranges, so offline the range counts as pinnable',
  );
  assert.equal(results.get('flux-system/flux-manifests')?.verdict, 'allow');
  assert.equal(results.get('apps/payments')?.verdict, 'deny');
  assert.match(results.get('apps/payments')?.violations[0]?.message ?? '', /acme-labs/);
});

test('an active exception waives its rule id for the named objects and is reported as waived', async () => {
  const { results, expired, stderr } = await json(['--exceptions', EXCEPTIONS, '--at', NOW]);
  const legacy = results.get('team-a/legacy-reports');
  assert.equal(legacy?.verdict, 'allow');
  assert.deepEqual(legacy?.violations, []);
  assert.deepEqual(
    legacy?.waived?.map((entry) => [entry.rule, entry.exception, entry.expires]),
    [['verify-required', 'team-a/legacy-reports-unsigned', '2027-01-31T00:00:00Z']],
  );
  assert.match(legacy?.waived?.[0]?.reason ?? '', /PLAT-481/);
  assert.deepEqual(
    expired?.map((entry) => entry.exception),
    ['gateway/gateway-migration'],
  );
  assert.match(
    stderr,
    /^pinwarden: exception gateway\/gateway-migration expired 2026-10-01T00:00:00Z and waives nothing/m,
  );
});

test('after its expiry the exception stops applying by itself: denied, and the finding says why', async () => {
  const { code, results, expired } = await json(['--exceptions', EXCEPTIONS, '--at', '2027-02-01T00:00:00Z']);
  assert.equal(code, 1);
  const legacy = results.get('team-a/legacy-reports');
  assert.equal(legacy?.verdict, 'deny');
  assert.equal(legacy?.waived, undefined);
  assert.match(
    legacy?.violations[0]?.message ?? '',
    /\(exception team-a\/legacy-reports-unsigned expired 2027-01-31T00:00:00Z and no longer waives this\)/,
  );
  assert.deepEqual(
    expired?.map((entry) => entry.exception),
    ['gateway/gateway-migration', 'team-a/legacy-reports-unsigned'],
  );
});

test('without --exceptions nothing is waived', async () => {
  const { results, expired } = await json([]);
  assert.equal(results.get('team-a/legacy-reports')?.verdict, 'deny');
  assert.equal(expired, undefined);
});

test('text output names the rule and shows waivers', async () => {
  const run = await runBuiltCli(['check', FLEET, '--config', POLICY, '--exceptions', EXCEPTIONS, '--at', NOW]);
  assert.equal(run.code, 1);
  assert.match(
    run.stdout,
    /^OCIRepository\/apps\/payments examples\/cookbook\/fleet\/apps\.yaml:\d+ DENY \(rule own-apps\)$/m,
  );
  assert.match(
    run.stdout,
    /^OCIRepository\/team-a\/legacy-reports \S+ ALLOW \(rule tenants\)\n {2}○ waived {2}verify-required {2}spec\.verify\n/m,
  );
  assert.match(
    run.stdout,
    /by exception team-a\/legacy-reports-unsigned until 2027-01-31T00:00:00Z: reports-chart 2\.x is not signed yet/,
  );
});

test('without the Namespace manifest the tenants rule cannot be judged, and check says so', async () => {
  const run = await runBuiltCli(['check', `${FLEET}/team-a.yaml`, '--config', POLICY, '-o', 'json']);
  const parsed = JSON.parse(run.stdout) as { results: JsonResult[] };
  const storefront = parsed.results.find((result) => result.name === 'storefront');
  assert.equal(storefront?.policyRule, 'default');
  const note = storefront?.violations.find((violation) => violation.rule === 'policy-rule-unjudged');
  assert.equal(note?.severity, 'warning');
  assert.match(
    note?.message ?? '',
    /labels of namespace team-a are unknown here, so rule 'tenants' \(namespaceSelector\) could not be judged/,
  );
});

test('a bad exceptions file or --at is exit 2 with the code, nothing checked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-exc-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicyException\nmetadata: {name: x, namespace: a}\nspec:\n  reason: r\n  expires: "2027-01-01T00:00:00Z"\n  objects: [{kind: OCIRepository, name: a}]\n  ruleIds: [verify-requird]\n',
  );
  const invalid = await runBuiltCli(['check', FLEET, '--config', POLICY, '--exceptions', bad]);
  assert.equal(invalid.code, 2);
  assert.match(
    invalid.stderr,
    /'verify-requird' is not a pinwarden rule id \(did you mean verify-required\?\).*\[PW_EXCEPTION_INVALID\]/,
  );
  assert.equal(invalid.stdout, '');
  const missing = await runBuiltCli(['check', FLEET, '--exceptions', join(dir, 'nope.yaml')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--exceptions .*nope\.yaml: no such file/);
  const huge = join(dir, 'huge.yaml');
  writeFileSync(huge, `# ${'x'.repeat(5 * 1024 * 1024)}\n`);
  const tooLarge = await runBuiltCli(['check', FLEET, '--exceptions', huge]);
  assert.equal(tooLarge.code, 2);
  assert.match(tooLarge.stderr, /huge\.yaml: larger than 4 MiB/);
  const at = await runBuiltCli(['check', FLEET, '--exceptions', EXCEPTIONS, '--at', 'tomorrow']);
  assert.equal(at.code, 2);
  assert.match(at.stderr, /--at tomorrow: not an RFC 3339 time/);
});
