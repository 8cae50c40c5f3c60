// Issue #12 items 3 and 6, on a real kube-apiserver, in process with an injected clock: the SourcePolicy objects
// combine into the policy in force; an invalid change keeps the last good policy and is reported in the object's
// status and an Event; an exception applies until it expires (the manual clock moves past `expires`), then its
// status says Expired, with an Event, and the object it waived is denied again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { CRD_DIRS, KINDS, crdFileName } from '../../../../scripts/policy-crds.ts';
import { evaluate } from '../../../../src/core/evaluate.ts';
import { defaultPolicy } from '../../../../src/core/policy/index.ts';
import { createKubeApi, startClusterPolicySource } from '../../../../src/kube/index.ts';
import type { ClusterPolicySource } from '../../../../src/kube/index.ts';
import { createManualClock } from '../../../../src/runtime/index.ts';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';

const GITHUB = '^https://token\\.actions\\.githubusercontent\\.com$';
const START = Date.parse('2026-06-01T00:00:00Z');
const clock = createManualClock(START);
let cp: ControlPlane;
let source: ClusterPolicySource;
const reloads: string[] = [];

before(async () => {
  cp = await startControlPlane({ fluxCrds: 'none' });
  for (const kind of KINDS) await cp.kubectlOk(['apply', '--server-side', '-f', `${CRD_DIRS[0]}/${crdFileName(kind)}`]);
  for (const kind of KINDS)
    await cp.kubectlOk(['wait', '--for=condition=Established', `crd/${kind.plural}.pinwarden.dev`, '--timeout=60s']);
  await apply(
    policy('platform', {
      priority: 10,
      ociRepository: { allowedIdentities: [{ issuer: GITHUB, subject: '^https://github\\.com/acme/' }] },
    }),
  );
  await apply(
    policy('team-a', {
      mode: 'warn',
      rules: [
        {
          name: 'vendor',
          match: { urls: ['oci://ghcr.io/vendor'] },
          ociRepository: { allowedIdentities: [{ issuer: GITHUB, subject: '^https://github\\.com/vendor/' }] },
        },
      ],
    }),
  );
  const api = createKubeApi({ config: cp.kubeConfig() });
  source = startClusterPolicySource({
    api,
    logger: pino({ level: 'silent' }),
    fallback: defaultPolicy(),
    clock,
    onReload: (outcome) => reloads.push(outcome),
    informer: { backoff: { initialMs: 100, maxMs: 1000 } },
  });
  await source.waitForSync(AbortSignal.timeout(30_000));
});
after(async () => {
  source?.close();
  await cp?.stop();
});

function policy(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'pinwarden.dev/v1alpha1', kind: 'SourcePolicy', metadata: { name }, spec };
}

async function apply(object: Record<string, unknown>): Promise<void> {
  await cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(object) });
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ready(
  kind: string,
  name: string,
  namespace?: string,
): Promise<{ status: string; reason: string; message: string; observedGeneration?: number }> {
  const object = JSON.parse(
    await cp.kubectlOk(['get', kind, name, ...(namespace ? ['-n', namespace] : []), '-o', 'json']),
  );
  return (object.status?.conditions ?? []).find((condition: { type: string }) => condition.type === 'Ready');
}

async function events(
  name: string,
  namespace = 'default',
): Promise<Array<{ reason: string; type: string; message: string; involvedObject: { kind: string } }>> {
  return JSON.parse(
    await cp.kubectlOk([
      'get',
      'events',
      '-n',
      namespace,
      '--field-selector',
      `involvedObject.name=${name}`,
      '-o',
      'json',
    ]),
  ).items;
}

const oci = (namespace: string, url: string, subject?: string): unknown => ({
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'OCIRepository',
  metadata: { name: 'app', namespace },
  spec: {
    interval: '5m',
    url,
    ref: { digest: `sha256:${'a'.repeat(64)}` },
    ...(subject ? { verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer: GITHUB, subject }] } } : {}),
  },
});

test('both objects combine (priority, then name), and each reads Ready=True Accepted with its position', async () => {
  const effective = source.current();
  assert.equal(effective.metadata.name, 'platform+team-a');
  assert.equal(effective.spec.mode, 'enforce', 'mode from platform (priority 10)');
  assert.deepEqual(
    effective.spec.rules?.map((rule) => rule.name),
    ['vendor'],
  );
  const platform = await eventually('platform status', async () =>
    (await ready('sourcepolicy', 'platform'))?.reason === 'Accepted' ? ready('sourcepolicy', 'platform') : undefined,
  );
  assert.equal(platform.status, 'True');
  assert.match(platform.message, /in force, first of 2/);
  const team = await eventually('team-a status', async () =>
    (await ready('sourcepolicy', 'team-a'))?.reason === 'Accepted' ? ready('sourcepolicy', 'team-a') : undefined,
  );
  assert.match(
    team.message,
    /2 of 2: its spec\.rules are tried after those of SourcePolicy\/platform; spec\.mode not used/,
  );
  assert.equal(
    evaluate(oci('apps', 'oci://ghcr.io/vendor/chart', '^https://github\\.com/vendor/chart/'), effective, {
      phase: 'admission',
    }).verdict,
    'allow',
  );
  assert.deepEqual(
    evaluate(oci('apps', 'oci://ghcr.io/vendor/chart', '^https://github\\.com/vendor/chart/'), effective, {
      phase: 'admission',
    }).rule,
    { name: 'vendor', source: 'SourcePolicy/team-a spec.rules[0]' },
  );
});

test('an invalid change (passes the CRD schema, fails the loader) keeps the last good policy, with a status condition and an Event', async () => {
  const before = source.current();
  const generation = source.generation();
  // What the embedded controller subscribes to (it requeues every object): refusals never notify, a fix does.
  let changes = 0;
  const unsubscribe = source.onChange(() => changes++);
  // allowKeyBased without trustedKeys: structurally fine, refused by the loader with the migration.
  await apply(
    policy('platform', {
      priority: 10,
      ociRepository: { allowKeyBased: true, allowedIdentities: [{ issuer: '.*', subject: '.*' }] },
    }),
  );
  const condition = await eventually('InvalidPolicy', async () => {
    const found = await ready('sourcepolicy', 'platform');
    return found?.reason === 'InvalidPolicy' ? found : undefined;
  });
  assert.equal(condition.status, 'False');
  assert.equal(condition.observedGeneration, 2);
  assert.match(
    condition.message,
    /allowKeyBased: true needs spec\.ociRepository\.trustedKeys.*; the version of generation 1 stays in force/,
  );
  assert.equal(source.current(), before, 'the same policy object: nothing changed');
  assert.equal(source.generation(), generation);
  assert.equal(
    evaluate(oci('apps', 'oci://ghcr.io/evil/app', '^https://github\\.com/evil/'), source.current(), {
      phase: 'admission',
    }).verdict,
    'deny',
    'the gate stays closed',
  );
  const warning = await eventually('the Event', async () =>
    (await events('platform')).find((event) => event.reason === 'InvalidPolicy'),
  );
  assert.equal(warning.type, 'Warning');
  assert.equal(warning.involvedObject.kind, 'SourcePolicy');
  assert.ok(reloads.includes('error'), 'counted as a refused reload');
  assert.equal(changes, 0, 'a refused change notifies no subscriber');
  // Fixed: taken, generation bumped, status back to Accepted.
  await apply(
    policy('platform', {
      priority: 10,
      mode: 'warn',
      ociRepository: { allowedIdentities: [{ issuer: GITHUB, subject: '^https://github\\.com/acme/' }] },
    }),
  );
  await eventually('the fix in force', () => (source.current().spec.mode === 'warn' ? true : undefined));
  assert.ok(source.generation() > generation);
  assert.equal(changes, source.generation() - generation, 'one notification per policy taken');
  unsubscribe();
  await eventually('Accepted again', async () =>
    (await ready('sourcepolicy', 'platform'))?.reason === 'Accepted' ? true : undefined,
  );
});

test('a conflicting object (a rule name another policy already uses) is refused and leaves the policy as it was', async () => {
  const before = source.current();
  await apply(policy('team-b', { rules: [{ name: 'vendor', match: { namespaces: ['team-b'] } }] }));
  const condition = await eventually('CombinationInvalid', async () => {
    const found = await ready('sourcepolicy', 'team-b');
    return found?.reason === 'CombinationInvalid' ? found : undefined;
  });
  assert.match(
    condition.message,
    /rule name 'vendor' is already used by SourcePolicy\/team-a spec\.rules\[0\].*this policy is not in force/,
  );
  assert.equal(source.current(), before);
  await cp.kubectlOk(['delete', 'sourcepolicy', 'team-b']);
});

test('an exception applies until it expires (manual clock); then its status reads Expired, with an Event, and the object is denied again', async () => {
  await cp.kubectlOk(['create', 'namespace', 'team-a']);
  await apply({
    apiVersion: 'pinwarden.dev/v1alpha1',
    kind: 'SourcePolicyException',
    metadata: { name: 'legacy', namespace: 'team-a' },
    spec: {
      reason: 'vendor chart unsigned until 3.0',
      expires: '2026-06-01T01:00:00Z',
      objects: [{ kind: 'OCIRepository', name: 'app' }],
      ruleIds: ['verify-required'],
    },
  });
  await eventually('Active', async () =>
    (await ready('sourcepolicyexception', 'legacy', 'team-a'))?.reason === 'Active' ? true : undefined,
  );
  // Back to enforce, so a finding denies.
  await apply(
    policy('platform', {
      priority: 10,
      ociRepository: { allowedIdentities: [{ issuer: GITHUB, subject: '^https://github\\.com/acme/' }] },
    }),
  );
  await eventually('enforce', () => (source.current().spec.mode === 'enforce' ? true : undefined));
  const unsigned = oci('team-a', 'oci://ghcr.io/acme/legacy');
  const waived = evaluate(unsigned, source.current(), { phase: 'admission', exceptions: source.exceptions() });
  assert.equal(waived.verdict, 'allow');
  assert.equal(waived.waived?.[0]?.exception, 'team-a/legacy');
  clock.advance(60 * 60 * 1000 + 5_000);
  const expired = await eventually('Expired', async () => {
    const found = await ready('sourcepolicyexception', 'legacy', 'team-a');
    return found?.reason === 'Expired' ? found : undefined;
  });
  assert.equal(expired.status, 'False');
  assert.match(expired.message, /^expired 2026-06-01T01:00:00Z: it waives nothing any more/);
  const denied = evaluate(unsigned, source.current(), { phase: 'admission', exceptions: source.exceptions() });
  assert.equal(denied.verdict, 'deny');
  assert.deepEqual(
    denied.expiredExceptions?.map((entry) => entry.exception),
    ['team-a/legacy'],
  );
  const event = await eventually('the Expired Event', async () =>
    (await events('legacy', 'team-a')).find((entry) => entry.reason === 'Expired'),
  );
  assert.equal(event.type, 'Warning');
});

test('an invalid exception waives nothing and says why in its status', async () => {
  await apply({
    apiVersion: 'pinwarden.dev/v1alpha1',
    kind: 'SourcePolicyException',
    metadata: { name: 'typo', namespace: 'team-a' },
    spec: {
      reason: 'x',
      expires: '2027-01-01T00:00:00Z',
      objects: [{ kind: 'OCIRepository', name: 'app' }],
      ruleIds: ['verify-requird'],
    },
  });
  const condition = await eventually('InvalidException', async () => {
    const found = await ready('sourcepolicyexception', 'typo', 'team-a');
    return found?.reason === 'InvalidException' ? found : undefined;
  });
  assert.match(condition.message, /did you mean verify-required\?/);
  assert.ok(!source.exceptions().exceptions.some((exception) => exception.metadata.name === 'typo'));
});

test('deleting every SourcePolicy falls back to the built-in secure defaults', async () => {
  await cp.kubectlOk(['delete', 'sourcepolicy', '--all']);
  await eventually('the fallback', () => (source.current().metadata.name === 'default' ? true : undefined));
  assert.equal(
    evaluate(oci('apps', 'oci://ghcr.io/acme/app', '^https://github\\.com/acme/'), source.current(), {
      phase: 'admission',
    }).verdict,
    'deny',
    'no identity is allowed by default',
  );
});
