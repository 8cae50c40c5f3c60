// Issue #10 items 2 and 7.4/7.5 with the real binaries: two `pinwarden controller` processes elect one leader
// on a Lease; killing it hands leadership to the other within the lease duration, which then reconciles;
// SIGTERM releases the Lease and exits 0. And `pinwarden serve --controller` in one process: an OCIRepository
// applied with a tag is pinned at admission, then reconciled from the pinned digest (revision keeps the tag).
// A policy change (the file edited, or a SourcePolicy object under --policy-source=cluster) requeues every object
// in `serve --controller` at once: Ready → Stalled/PolicyDenied and back, with an interval of an hour.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CRD_DIRS, KINDS, crdFileName } from '../../../../scripts/policy-crds.ts';
import { createKubeApi, objectPath, RESOURCES } from '../../../../src/kube/index.ts';
import type { KubeApi } from '../../../../src/kube/index.ts';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import { startRegistry } from '../../../helpers/registry.ts';
import type { TestRegistry } from '../../../helpers/registry.ts';
import {
  controllerPolicy,
  hasCondition,
  kustomizationObject,
  namespaceWithCosignKey,
  ociRepositoryYaml,
  pushSigned,
  startControllerProcess,
} from '../../../support/controller.ts';
import type { ControllerProcess, StatusCondition } from '../../../support/controller.ts';
import { poll } from '../../../helpers/poll.ts';
import { registerWebhooks, startPinwarden, unregisterWebhooks, waitForWebhooks } from '../../../support/pinwarden.ts';
import { startTestWebhook } from '../../../support/test-webhook.ts';
import type { TestWebhook } from '../../../support/test-webhook.ts';

let cp: ControlPlane;
let registry: TestRegistry;
let api: KubeApi;
const processes: ControllerProcess[] = [];
const webhooks: TestWebhook[] = [];
before(async () => {
  [cp, registry] = await Promise.all([startControlPlane(), startRegistry()]);
  api = createKubeApi({ config: cp.kubeConfig() });
});
after(async () => {
  await Promise.all(processes.map((process_) => process_.kill()));
  await Promise.all(webhooks.map((webhook) => webhook.stop()));
  await Promise.all([cp?.stop(), registry?.stop()]);
});

async function namespace(name: string): Promise<string> {
  return namespaceWithCosignKey(cp, name);
}

let slowCreates = true;

/** Registers a webhook delaying real ConfigMap creates in `ns` by `delayMs` while `slowCreates`, and waits for it. */
async function slowConfigMapCreates(ns: string, delayMs: number): Promise<void> {
  const webhook = await startTestWebhook(async (review) => {
    const request = (review as { request?: { dryRun?: boolean } }).request;
    if (slowCreates && request?.dryRun !== true) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return { allowed: true };
  });
  webhooks.push(webhook);
  await cp.kubectlOk(['apply', '--server-side', '--field-manager=pinwarden-test', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: `slow-${ns}` },
      webhooks: [
        {
          name: 'slow-configmaps.test.pinwarden.dev',
          clientConfig: {
            url: `${webhook.url}/validate`,
            caBundle: Buffer.from(webhook.ca.certPem).toString('base64'),
          },
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Ignore',
          timeoutSeconds: 10,
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
          rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
        },
      ],
    }),
  });
  // The apiserver's webhook informer lags the write: probe with a dry-run create until the webhook is called.
  await until('the slow webhook is called', async () => {
    await cp.kubectl(['-n', ns, 'create', 'configmap', 'probe', '--dry-run=server']);
    return webhook.captured.length > 0;
  });
}

/** Every wait here: a failed request is "not yet" (a leader being killed, an object not created yet). */
const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> =>
  poll(what, probe, { timeoutMs, ignoreErrors: true });

/** Leader election on a Lease in `ns` that a killed leader loses within seconds. */
const electionFlags = (ns: string): string[] => [
  '--leader-election-namespace',
  ns,
  '--lease-duration',
  '4',
  '--renew-deadline',
  '3',
  '--retry-period',
  '1',
];

async function holder(ns: string): Promise<string | undefined> {
  const lease = await api.request<{ spec?: { holderIdentity?: string } }>({
    method: 'GET',
    path: objectPath(RESOURCES.lease, ns, 'pinwarden-controller'),
  });
  return lease.spec?.holderIdentity ?? undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- status fields are asserted one by one
async function readyObject(ns: string, name: string): Promise<any> {
  return withCondition(ns, name, 'Ready', 'True', 40_000);
}

async function text(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.text() };
}

test('two controllers: one leader; kill it and the other takes over within the lease duration and reconciles; SIGTERM releases', async () => {
  const ns = await namespace('election');
  const policy = controllerPolicy(registry.host);
  const flags = electionFlags(ns);
  const first = await startControllerProcess({ kubeconfig: cp.adminKubeconfig, policy, args: flags });
  processes.push(first);
  const firstId = `${hostname()}_${first.pid}`;
  await until('the first leads', async () => (await holder(ns)) === firstId);
  const second = await startControllerProcess({ kubeconfig: cp.adminKubeconfig, policy, args: flags });
  processes.push(second);
  const secondId = `${hostname()}_${second.pid}`;
  await until(
    'the second is ready (watches synced)',
    async () => (await text(`${second.metricsUrl}/readyz`)).status === 200,
  );
  assert.equal(await holder(ns), firstId, 'the second waits while the first renews');
  assert.match((await text(`${first.metricsUrl}/metrics`)).body, /^pinwarden_controller_leader 1$/m);
  assert.match((await text(`${second.metricsUrl}/metrics`)).body, /^pinwarden_controller_leader 0$/m);

  await pushSigned(registry.host, 'apps/election', 'v1', { 'app.yaml': 'kind: ConfigMap\n' });
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: ociRepositoryYaml(registry.host, ns, 'before', 'apps/election', { tag: 'v1' }),
  });
  await readyObject(ns, 'before');

  const killed = Date.now();
  await first.kill();
  await until('the second takes over', async () => (await holder(ns)) === secondId, 15_000);
  const takeover = Date.now() - killed;
  assert.ok(takeover <= 4000 + 2500, `taken over in ${takeover} ms (lease 4 s, retry 1 s)`);
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: ociRepositoryYaml(registry.host, ns, 'after', 'apps/election', { tag: 'v1' }),
  });
  await readyObject(ns, 'after');

  const code = await second.stop();
  assert.equal(code, 0, 'SIGTERM: a clean exit');
  assert.equal(await holder(ns), undefined, 'the Lease was released');
  assert.ok(
    second.logs().some((line) => line.includes('"msg":"stopped"')),
    'it logged its stop',
  );
});

test('serve --controller: a tag is pinned at admission, then reconciled from the pinned digest', async () => {
  const ns = await namespace('together');
  const pushed = await pushSigned(registry.host, 'apps/together', 'v2', { 'app.yaml': 'kind: ConfigMap\n' });
  const policy = controllerPolicy(registry.host, '    requireDigest: true\n    mutate: {tagToDigest: true}\n');
  const pw = await startPinwarden({
    policy,
    kubeconfig: cp.adminKubeconfig,
    extraArgs: ['--controller', '--no-leader-elect', '--storage-dir', `${cp.dir}/together-store`],
  });
  try {
    await registerWebhooks(cp, pw);
    await waitForWebhooks(cp, pw, ns);
    await cp.kubectlOk(['apply', '-f', '-'], {
      input: ociRepositoryYaml(registry.host, ns, 'app', 'apps/together', { tag: 'v2' }),
    });
    const ready = await readyObject(ns, 'app');
    assert.equal(ready.spec.ref.digest, pushed.digest, 'pinned at admission');
    assert.equal(ready.metadata.annotations['pinwarden.dev/pinned-from'], 'tag:v2');
    assert.equal(
      ready.status.artifact.revision,
      `v2@${pushed.digest}`,
      'reconciled from the digest, the tag kept from pinned-from',
    );
    const readyz = await text(`${pw.metricsUrl}/readyz`);
    assert.equal(readyz.status, 200);
    assert.match(
      await pw.metrics(),
      /^pinwarden_controller_reconcile_total\{kind="OCIRepository",result="success"\} [1-9]/m,
    );
    assert.match(await pw.metrics(), /^pinwarden_webhook_requests_total/m);
  } finally {
    // A validating configuration (failurePolicy Fail) left pointing at a stopped pinwarden would refuse every
    // later OCIRepository in this control plane.
    await unregisterWebhooks(cp);
    await pw.stop();
  }
});

/** The OCIRepository once its condition `type` is `status`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- status fields are asserted one by one
async function withCondition(ns: string, name: string, type: string, status: string, timeoutMs: number): Promise<any> {
  return until(
    `${ns}/${name} ${type}=${status}`,
    async () => {
      const object = await api.request<{ status?: { conditions?: StatusCondition[] } }>({
        method: 'GET',
        path: objectPath(RESOURCES.ociRepository, ns, name),
      });
      return hasCondition(object, type, status) ? object : undefined;
    },
    timeoutMs,
  );
}

test('serve --controller: a policy file edit requeues at once: Ready becomes Stalled/PolicyDenied, and back', async () => {
  const ns = await namespace('reload');
  await pushSigned(registry.host, 'apps/reload', 'v1', { 'app.yaml': 'kind: ConfigMap\n' });
  const permissive = controllerPolicy(registry.host);
  const forbidding = permissive.replace(
    `allowedRegistries: ["oci://${registry.host}/"]`,
    'allowedRegistries: ["oci://registry.example.com/"]',
  );
  assert.notEqual(forbidding, permissive);
  const pw = await startPinwarden({
    policy: permissive,
    kubeconfig: cp.adminKubeconfig,
    extraArgs: ['--controller', '--no-leader-elect', '--storage-dir', `${cp.dir}/reload-store`],
  });
  try {
    // An interval of an hour: only the policy change can bring the object back within this test.
    await cp.kubectlOk(['apply', '-f', '-'], {
      input: ociRepositoryYaml(registry.host, ns, 'app', 'apps/reload', { tag: 'v1' }, '1h'),
    });
    await readyObject(ns, 'app');
    const edited = Date.now();
    writeFileSync(join(pw.dir, 'policy.yaml'), forbidding);
    const stalled = await withCondition(ns, 'app', 'Stalled', 'True', 60_000);
    const denyMs = Date.now() - edited;
    const ready = stalled.status.conditions.find((condition: { type: string }) => condition.type === 'Ready');
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'PolicyDenied');
    assert.match(ready.message, /registry/);
    // Generous for a loaded machine, and far below the hour the interval would take.
    assert.ok(denyMs < 60_000, `denied ${denyMs} ms after the edit`);
    assert.ok(
      pw.logs().some((line) => line.includes('policy changed: every object is reconciled again')),
      'the requeue came from the policy change',
    );

    // The converse: a stalled object is never requeued by itself; loosening the policy frees it.
    const loosened = Date.now();
    writeFileSync(join(pw.dir, 'policy.yaml'), permissive);
    const back = await withCondition(ns, 'app', 'Ready', 'True', 60_000);
    assert.ok(Date.now() - loosened < 60_000);
    assert.ok(!hasCondition(back, 'Stalled', 'True'), 'no longer stalled');
  } finally {
    await pw.stop();
  }
});

test('serve --controller --policy-source=cluster: a SourcePolicy change requeues at once, both ways', async () => {
  const ns = await namespace('clusterpolicy');
  await pushSigned(registry.host, 'apps/clusterpolicy', 'v1', { 'app.yaml': 'kind: ConfigMap\n' });
  for (const kind of KINDS) await cp.kubectlOk(['apply', '--server-side', '-f', `${CRD_DIRS[0]}/${crdFileName(kind)}`]);
  for (const kind of KINDS)
    await cp.kubectlOk(['wait', '--for=condition=Established', `crd/${kind.plural}.pinwarden.dev`, '--timeout=60s']);
  const object = (allowed: string): string => {
    const policy = parse(controllerPolicy(registry.host)) as { spec: { ociRepository: Record<string, unknown> } };
    policy.spec.ociRepository.allowedRegistries = [allowed];
    return JSON.stringify({
      apiVersion: 'pinwarden.dev/v1alpha1',
      kind: 'SourcePolicy',
      metadata: { name: 'controller-cluster-test' },
      spec: policy.spec,
    });
  };
  await cp.kubectlOk(['apply', '-f', '-'], { input: object(`oci://${registry.host}/`) });
  const pw = await startPinwarden({
    kubeconfig: cp.adminKubeconfig,
    extraArgs: [
      '--policy-source',
      'cluster',
      '--controller',
      '--no-leader-elect',
      '--storage-dir',
      `${cp.dir}/clusterpolicy-store`,
    ],
  });
  try {
    await cp.kubectlOk(['apply', '-f', '-'], {
      input: ociRepositoryYaml(registry.host, ns, 'app', 'apps/clusterpolicy', { tag: 'v1' }, '1h'),
    });
    await readyObject(ns, 'app');
    await cp.kubectlOk(['apply', '-f', '-'], { input: object('oci://registry.example.com/') });
    const stalled = await withCondition(ns, 'app', 'Stalled', 'True', 60_000);
    assert.equal(
      stalled.status.conditions.find((condition: { type: string }) => condition.type === 'Ready').reason,
      'PolicyDenied',
    );
    await cp.kubectlOk(['apply', '-f', '-'], { input: object(`oci://${registry.host}/`) });
    await withCondition(ns, 'app', 'Ready', 'True', 60_000);
  } finally {
    await pw.stop();
    // The next tests run `pinwarden controller` with policy files: no SourcePolicy should linger for a reader.
    await cp.kubectlOk(['delete', 'sourcepolicy', 'controller-cluster-test']);
  }
});

test('the leader dies in the middle of an apply: the next leader converges to the same state', async () => {
  const ns = await namespace('midapply');
  const COUNT = 150;
  const files: Record<string, string> = {};
  for (let index = 0; index < COUNT; index++)
    files[`cm-${index}.yaml`] =
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${index}\ndata:\n  index: "${index}"\n`;
  const pushed = await pushSigned(registry.host, 'apps/midapply', 'v1', files);
  const policy = controllerPolicy(registry.host);
  const flags = electionFlags(ns);
  // The apply must still be running when the leader is killed, however fast the machine: a validating webhook
  // holds every real (not dry-run) ConfigMap create in this namespace for 300 ms, until the leader is gone.
  await slowConfigMapCreates(ns, 300);
  const first = await startControllerProcess({ kubeconfig: cp.adminKubeconfig, policy, args: flags });
  processes.push(first);
  await until('the first leads', async () => (await holder(ns)) === `${hostname()}_${first.pid}`);
  const second = await startControllerProcess({ kubeconfig: cp.adminKubeconfig, policy, args: flags });
  processes.push(second);
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        JSON.parse(ociRepositoryYaml(registry.host, ns, 'mid', 'apps/midapply', { tag: 'v1' })),
        kustomizationObject(ns, 'mid', 'mid', { prune: true, targetNamespace: ns }),
      ],
    }),
  });
  const count = async (): Promise<number> =>
    (
      await api.request<{ items: unknown[] }>({
        method: 'GET',
        path: `/api/v1/namespaces/${ns}/configmaps`,
        query: { labelSelector: 'kustomize.toolkit.fluxcd.io/name=mid' },
      })
    ).items.length;
  // Kill the leader as soon as the apply has started, before it can have finished.
  const started = await until(
    'the apply started',
    async () => {
      const applied = await count();
      return applied > 0 && applied;
    },
    60_000,
  );
  await first.kill();
  slowCreates = false;
  assert.ok(started < COUNT, `killed mid-apply (${started} of ${COUNT} applied)`);
  await until('the second takes over', async () => (await holder(ns)) === `${hostname()}_${second.pid}`, 15_000);
  const ks = await until(
    'converged',
    async () => {
      const object = await api.request<{
        status?: { lastAppliedRevision?: string; inventory?: { entries: unknown[] } };
      }>({ method: 'GET', path: objectPath(RESOURCES.kustomization, ns, 'mid') });
      return object.status?.lastAppliedRevision === `v1@${pushed.digest}` && object;
    },
    90_000,
  );
  assert.equal(await count(), COUNT, 'every object applied once the new leader finished');
  assert.equal(ks.status?.inventory?.entries.length, COUNT, 'and all of them in the inventory');
  await second.stop();
});
