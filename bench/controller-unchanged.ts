/**
 * `node bench/controller-unchanged.ts [COUNT]` (issue #10 item 8): COUNT (default 1,000) OCIRepository objects
 * on a real kube-apiserver, all with unchanged digests (10 signed artifacts on the loopback docker-registry, one
 * tag each), reconciled by the embedded controller's manager in this process (4 workers). After the first
 * round has stored and verified everything, every object is requeued as its interval would, ROUNDS times.
 * Counted at the registry (its own request log): manifest HEADs, manifest GETs and blob GETs per round;
 * target exactly COUNT HEADs and 0 GETs. Measured: CPU time (user + system of this process) and RSS per
 * reconcile, against a baseline in the same run: the same COUNT HEADs made directly with the OCI client
 * (`repository.resolve`, same concurrency) — the cost of asking the registry at all. Median of ROUNDS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../src/core/policy/index.ts';
import { clusterAccess, createAdmissionVerifier, createPinResolver } from '../src/flows/index.ts';
import { createKubeApi, createKubeSecretReader, RESOURCES } from '../src/kube/index.ts';
import { HttpRepository } from '../src/oci/index.ts';
import { createArtifactStore, createOciRepositoryController, flowPuller } from '../src/controller/index.ts';
import {
  createControllerManager,
  createEventRecorder,
  createFinalizerWriter,
  createStatusWriter,
} from '../src/controller/runtime/index.ts';
import type { KindController } from '../src/controller/runtime/index.ts';
import { startControlPlane } from '../test/support/control-plane.ts';
import { controllerPolicy, ociRepositoryYaml, pushSigned } from '../test/support/controller.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { PLATFORM_KEY_PEM } from '../test/helpers/trust.ts';
import { median, round } from './stats.ts';

const COUNT = Number(process.argv[2] ?? 1000);
const REPOS = 10;
const ROUNDS = 3;
const WORKERS = 4;

const [cp, registry] = await Promise.all([startControlPlane(), startRegistry()]);
const dir = mkdtempSync(join(tmpdir(), 'pw-bench-controller-'));
try {
  const api = createKubeApi({ config: cp.kubeConfig(), timeoutMs: 30_000 });
  await cp.kubectlOk(['create', 'namespace', 'bench']);
  await cp.kubectlOk([
    '-n',
    'bench',
    'create',
    'secret',
    'generic',
    'cosign-pub',
    `--from-literal=cosign.pub=${PLATFORM_KEY_PEM}`,
  ]);
  for (let repo = 0; repo < REPOS; repo++)
    await pushSigned(registry.host, `bench/app${repo}`, 'v1', {
      'app.yaml': `kind: ConfigMap\nmetadata: {name: app${repo}}\n`,
    });
  const objects = Array.from(
    { length: COUNT },
    (_, index) =>
      JSON.parse(
        ociRepositoryYaml(registry.host, 'bench', `app-${index}`, `bench/app${index % REPOS}`, { tag: 'v1' }, '1h'),
      ) as object,
  );
  for (let start = 0; start < COUNT; start += 250) {
    await cp.kubectlOk(['apply', '--server-side', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects.slice(start, start + 250) }),
      timeoutMs: 120_000,
    });
  }

  const store = createArtifactStore({ root: dir });
  await store.open();
  const policy = loadPolicy(controllerPolicy(registry.host), 'bench-policy.yaml');
  const secrets = createKubeSecretReader({ kubeconfig: cp.adminKubeconfig, timeoutMs: 10_000 });
  const pins = createPinResolver({ access: clusterAccess(secrets), verifyOnResolve: false });
  const oci = createOciRepositoryController({
    status: createStatusWriter({ api, resource: RESOURCES.ociRepository }),
    finalizers: createFinalizerWriter({ api, resource: RESOURCES.ociRepository }),
    events: createEventRecorder({ api }),
    store,
    pins,
    verifier: createAdmissionVerifier({ pins, secrets }),
    pull: flowPuller,
    policy: () => policy,
  });
  let done = 0;
  let failures = 0;
  const counting: KindController = {
    ...oci,
    async reconcile(request) {
      const answer = await oci.reconcile(request);
      done++;
      if (answer.result !== 'success') failures++;
      return answer;
    },
  };
  const manager = createControllerManager({ api, controllers: [counting], workers: WORKERS });
  const waitFor = async (target: number, what: string): Promise<void> => {
    const end = Date.now() + 600_000;
    while (done < target) {
      if (Date.now() > end) throw new Error(`${what}: ${done}/${target} reconciles after 10 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const firstStarted = Date.now();
  manager.start();
  await waitFor(COUNT, 'first round');
  console.log(
    `first round (download once per artifact, verify every object): ${COUNT} objects in ${Date.now() - firstStarted} ms, ${failures} not successful`,
  );

  const rounds: Array<{
    cpuMs: number;
    wallMs: number;
    heads: number;
    manifestGets: number;
    blobGets: number;
    rssMb: number;
  }> = [];
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    const logStart = registry.requestLog.length;
    const target = done + COUNT;
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let index = 0; index < COUNT; index++) manager.enqueue('OCIRepository', 'bench', `app-${index}`);
    await waitFor(target, `round ${round_ + 1}`);
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const log = registry.requestLog.slice(logStart);
    rounds.push({
      cpuMs: (used.user + used.system) / 1000,
      wallMs,
      heads: log.filter((entry) => entry.method === 'HEAD' && entry.path.includes('/manifests/')).length,
      manifestGets: log.filter((entry) => entry.method === 'GET' && entry.path.includes('/manifests/')).length,
      blobGets: log.filter((entry) => entry.method === 'GET' && entry.path.includes('/blobs/')).length,
      rssMb: process.memoryUsage().rss / 1024 / 1024,
    });
  }
  await manager.stop(10_000);

  // Baseline: the same HEADs straight through the OCI client, same concurrency, same process.
  const repositories = Array.from({ length: REPOS }, (_, repo) =>
    HttpRepository.fromUrl(`oci://${registry.host}/bench/app${repo}`, { insecure: true }),
  );
  const baseline: number[] = [];
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    const cpu = process.cpuUsage();
    let next = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (next < COUNT) {
          const index = next++;
          await repositories[index % REPOS]!.resolve('v1', { signal: AbortSignal.timeout(10_000) });
        }
      }),
    );
    const used = process.cpuUsage(cpu);
    baseline.push((used.user + used.system) / 1000);
  }

  const cpuPer = median(rounds.map((entry) => entry.cpuMs)) / COUNT;
  const basePer = median(baseline) / COUNT;
  console.log(
    `rounds: ${JSON.stringify(rounds.map((entry) => ({ ...entry, cpuMs: round(entry.cpuMs), wallMs: round(entry.wallMs), rssMb: round(entry.rssMb) })))}`,
  );
  console.log(
    `per interval: HEAD ${median(rounds.map((entry) => entry.heads))} (target ${COUNT}), manifest GET ${median(rounds.map((entry) => entry.manifestGets))}, blob GET ${median(rounds.map((entry) => entry.blobGets))} (target 0)`,
  );
  console.log(
    `CPU per unchanged reconcile: ${round(cpuPer, 3)} ms (median of ${ROUNDS}); bare HEAD with the OCI client: ${round(basePer, 3)} ms; ratio ${round(cpuPer / basePer)}×`,
  );
  console.log(
    `wall per round: ${round(median(rounds.map((entry) => entry.wallMs)))} ms (${WORKERS} workers); RSS after the rounds: ${round(median(rounds.map((entry) => entry.rssMb)))} MB; load average ${loadavg()
      .map((value) => value.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await Promise.all([cp.stop(), registry.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
