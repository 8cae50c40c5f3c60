/**
 * `node bench/controller-latency.ts [PUSHES]` (issue #10 item 8): from the push of a new digest to the objects
 * applied in the apiserver, with `interval: 10s` on the OCIRepository (Flux's jitter included). A real
 * kube-apiserver + etcd, Debian's docker-registry, the embedded controller (`startController`, as `pinwarden
 * controller` runs it: OCIRepository + Kustomization reconcilers, leader election off) in this process.
 * Each push (default 10) changes a ConfigMap value; the clock stops when the apiserver serves the new value.
 * Reported: median and p99 seconds, split into push → the OCIRepository's new revision in status (the wait for
 * the next interval, then HEAD, verify, pull, store) and revision → applied (the Kustomization requeued at once
 * by the source change, then apply); both are polled every ~50 ms plus two GETs, so the second part is only
 * resolved to that granularity. The baseline for the first is the interval's expectation, interval ÷ 2.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../src/core/policy/index.ts';
import { flowPuller, startController } from '../src/controller/index.ts';
import { createKubeApi, createKubeSecretReader, objectPath, RESOURCES } from '../src/kube/index.ts';
import { startControlPlane } from '../test/support/control-plane.ts';
import {
  controllerPolicy,
  kustomizationObject,
  namespaceWithCosignKey,
  ociRepositoryYaml,
  pushSigned,
} from '../test/support/controller.ts';
import { poll } from '../test/helpers/poll.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { median, percentile, round } from './stats.ts';

const PUSHES = Number(process.argv[2] ?? 10);
const INTERVAL_S = 10;
const NS = 'latency';
const CONFIGMAPS = { group: '', version: 'v1', resource: 'configmaps', namespaced: true, kind: 'ConfigMap' };

const [cp, registry] = await Promise.all([startControlPlane(), startRegistry()]);
const dir = mkdtempSync(join(tmpdir(), 'pw-bench-latency-'));
const silent = { info() {}, warn() {}, error() {}, debug() {} };
try {
  const api = createKubeApi({ config: cp.kubeConfig() });
  await namespaceWithCosignKey(cp, NS);
  const publish = async (value: number): Promise<string> => {
    const configMap = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {value: "${value}"}\n`;
    return (await pushSigned(registry.host, 'bench/latency', 'v1', { 'cm.yaml': configMap })).digest;
  };
  await publish(0);
  const policy = loadPolicy(controllerPolicy(registry.host), 'bench-policy.yaml');
  const controller = await startController({
    kubeconfig: cp.adminKubeconfig,
    api,
    kubeConfig: cp.kubeConfig(),
    storage: { dir: join(dir, 'store'), maxBytes: 256 * 1024 * 1024 },
    policy: () => policy,
    secrets: createKubeSecretReader({ kubeconfig: cp.adminKubeconfig }),
    pull: flowPuller,
    logger: silent,
    workers: 4,
  });
  await cp.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        JSON.parse(ociRepositoryYaml(registry.host, NS, 'app', 'bench/latency', { tag: 'v1' }, `${INTERVAL_S}s`)),
        kustomizationObject(NS, 'app', 'app', { prune: true, targetNamespace: NS }),
      ],
    }),
  });
  const valueNow = async (): Promise<string | undefined> => {
    const object = await api
      .request<{ data?: { value?: string } }>({ method: 'GET', path: objectPath(CONFIGMAPS, NS, 'app') })
      .catch(() => undefined);
    return object?.data?.value;
  };
  const revisionNow = async (): Promise<string | undefined> => {
    const object = await api
      .request<{ status?: { artifact?: { revision?: string } } }>({
        method: 'GET',
        path: objectPath(RESOURCES.ociRepository, NS, 'app'),
      })
      .catch(() => undefined);
    return object?.status?.artifact?.revision;
  };
  await poll('the first artifact applied', async () => (await valueNow()) === '0', { timeoutMs: 120_000 });
  const totals: number[] = [];
  const waits: number[] = [];
  const works: number[] = [];
  for (let push = 1; push <= PUSHES; push++) {
    // Start at a random point of the interval, as a real push would.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * INTERVAL_S * 1000));
    const digest = await publish(push);
    const pushed = performance.now();
    let seen: number | undefined;
    const probe = async (): Promise<boolean> => {
      if (seen === undefined && (await revisionNow()) === `v1@${digest}`) seen = performance.now();
      return (await valueNow()) === String(push);
    };
    await poll(`push ${push} applied`, probe, { timeoutMs: 120_000, intervalMs: 50 });
    const applied = performance.now();
    seen ??= applied;
    totals.push((applied - pushed) / 1000);
    waits.push((seen - pushed) / 1000);
    works.push((applied - seen) / 1000);
    console.log(
      `push ${push}: applied after ${round((applied - pushed) / 1000)} s (interval wait ${round((seen - pushed) / 1000)} s, then ${round((applied - seen) / 1000)} s)`,
    );
  }
  await controller.close();
  const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);
  console.log(
    `push → applied at interval ${INTERVAL_S}s over ${PUSHES} pushes: median ${round(median(totals))} s, p99 ${round(percentile(sorted(totals), 99))} s`,
  );
  console.log(
    `  push → new revision in the OCIRepository status (interval wait, HEAD, verify, pull): median ${round(median(waits))} s (expectation ${INTERVAL_S / 2} s; ratio ${round(median(waits) / (INTERVAL_S / 2))}×), p99 ${round(percentile(sorted(waits), 99))} s`,
  );
  console.log(
    `  revision → applied (Kustomization requeued at once, apply; ~50 ms polling): median ${round(median(works))} s, p99 ${round(percentile(sorted(works), 99))} s; load average ${loadavg()
      .map((value) => value.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await Promise.all([cp.stop(), registry.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
