/**
 * Controller tests' shared parts: the SourcePolicy that trusts the platform key on a loopback plain-HTTP
 * registry, a signed Flux artifact pushed with the artifact room's packer, the OCIRepository that names it, and
 * the real `pinwarden controller` process (dist/main.js) with its probe port.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { KeyObject } from 'node:crypto';
import { packArtifact, pushArtifact } from '../../src/artifact/index.ts';
import { HttpRepository } from '../../src/oci/index.ts';
import type { Descriptor } from '../../src/oci/index.ts';
import { attachLegacy, legacySignature } from '../helpers/sigstore-fixtures-sign.ts';
import { PLATFORM_KEY, PLATFORM_KEY_FINGERPRINT, PLATFORM_KEY_PEM } from '../helpers/trust.ts';
import { REPO_ROOT, builtCli } from '../helpers/cli.ts';
import type { SourcePolicy } from '../../src/core/policy/index.ts';
import { clusterAccess, createAdmissionVerifier, createPinResolver } from '../../src/flows/index.ts';
import type { PinResolverOptions } from '../../src/flows/index.ts';
import { createKubeSecretReader, RESOURCES } from '../../src/kube/index.ts';
import type { KubeApi, KubeObjectBody } from '../../src/kube/index.ts';
import { createOciRepositoryController, flowPuller } from '../../src/controller/index.ts';
import type { ArtifactStore } from '../../src/controller/index.ts';
import {
  createControllerManager,
  createEventRecorder,
  createFinalizerWriter,
  createStatusWriter,
} from '../../src/controller/runtime/index.ts';
import type { ControllerManager } from '../../src/controller/runtime/index.ts';
import type { ControlPlane } from './control-plane.ts';

export function controllerPolicy(registryHost: string, extra = ''): string {
  return `apiVersion: pinwarden.dev/v1alpha1
kind: SourcePolicy
metadata: {name: controller-test}
spec:
  ociRepository:
    requireVerify: true
    allowKeyBased: true
    trustedKeys: ["${PLATFORM_KEY_FINGERPRINT}"]
    requireTlogForKeys: false
    allowedRegistries: ["oci://${registryHost}/"]
    allowInsecure: true
${extra}  registry: {timeoutSeconds: 5, allowNetworks: ["127.0.0.0/8"]}
`;
}

/** Packs `files` as a Flux artifact, pushes it under `tag` and signs it (cosign v2, key-based). */
export async function pushSigned(
  registryHost: string,
  repo: string,
  tag: string,
  files: Record<string, string>,
  signer: { privateKey: KeyObject; publicKey: KeyObject } = PLATFORM_KEY,
): Promise<Descriptor> {
  const source = mkdtempSync(join(tmpdir(), 'pw-artifact-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(source, name), content);
    const repository = HttpRepository.fromUrl(`oci://${registryHost}/${repo}`, { insecure: true });
    const call = { signal: AbortSignal.timeout(20_000) };
    const packed = await packArtifact({
      path: source,
      source: 'https://github.com/acme/fleet',
      revision: 'main@sha1:0123456789abcdef0123456789abcdef01234567',
    });
    const descriptor = await pushArtifact(repository, packed, tag, call);
    await attachLegacy(repository, descriptor, [legacySignature(signer, `${registryHost}/${repo}`, descriptor.digest)]);
    return descriptor;
  } finally {
    rmSync(source, { recursive: true, force: true });
  }
}

export function ociRepositoryYaml(
  registryHost: string,
  ns: string,
  name: string,
  repo: string,
  ref: Record<string, string>,
  interval = '10m',
): string {
  return JSON.stringify({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name, namespace: ns },
    spec: {
      url: `oci://${registryHost}/${repo}`,
      interval,
      insecure: true,
      ref,
      verify: { provider: 'cosign', secretRef: { name: 'cosign-pub' } },
    },
  });
}

/**
 * A Kustomization `name` in `ns` that applies the OCIRepository `source` of its namespace every 10 minutes, as
 * the tests create it; `spec` adds fields (prune, targetNamespace, kubeConfig…) or overrides these.
 */
export function kustomizationObject(
  ns: string,
  name: string,
  source: string,
  spec: Record<string, unknown> = {},
): KubeObjectBody {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace: ns },
    spec: { interval: '10m', sourceRef: { kind: 'OCIRepository', name: source }, ...spec },
  };
}

/** An object's status condition `type`, as a Flux controller writes it. */
export interface StatusCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** Whether `object`'s status has condition `type` at `status` ('True', 'False', 'Unknown'). */
export function hasCondition(
  object: { status?: { conditions?: StatusCondition[] } } | undefined,
  type: string,
  status: string,
): boolean {
  return (
    object?.status?.conditions?.some((condition) => condition.type === type && condition.status === status) ?? false
  );
}

export interface ControllerProcess {
  pid: number;
  child: ChildProcess;
  metricsUrl: string;
  logs(): string[];
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

export async function startControllerProcess(options: {
  kubeconfig: string;
  policy: string;
  args?: string[];
}): Promise<ControllerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-controller-'));
  writeFileSync(join(dir, 'policy.yaml'), options.policy);
  const args = [
    builtCli(),
    'controller',
    '--kubeconfig',
    options.kubeconfig,
    '--config',
    join(dir, 'policy.yaml'),
    '--host',
    '127.0.0.1',
    '--metrics-port',
    '0',
    '--storage-dir',
    join(dir, 'store'),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const onExit = (): void => void child.kill('SIGKILL');
  process.on('exit', onExit);
  void exited.then(() => {
    process.off('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  });
  const metricsUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`pinwarden controller did not start within 30 s:\n${lines.join('\n')}`)),
      30_000,
    );
    void exited.then((code) => reject(new Error(`pinwarden controller exited ${code}:\n${lines.join('\n')}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; metrics?: string };
        if (entry.msg === 'pinwarden controller running' && entry.metrics) {
          clearTimeout(timer);
          resolve(entry.metrics);
        }
      } catch {
        // not JSON
      }
    });
  });
  return {
    pid: child.pid!,
    child,
    metricsUrl,
    logs: () => lines.slice(),
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A namespace with the platform's cosign public key in Secret `cosign-pub` (what `spec.verify.secretRef` names). */
export async function namespaceWithCosignKey(cp: ControlPlane, name: string): Promise<string> {
  await cp.kubectlOk(['create', 'namespace', name]);
  await cp.kubectlOk([
    '-n',
    name,
    'create',
    'secret',
    'generic',
    'cosign-pub',
    `--from-literal=cosign.pub=${PLATFORM_KEY_PEM}`,
  ]);
  return name;
}

export interface InProcessControllerOptions {
  cp: ControlPlane;
  /** The client the controller writes with (e.g. through a fault-injecting proxy). */
  api: KubeApi;
  store: ArtifactStore;
  policy: SourcePolicy;
  backoff: { baseMs: number; maxMs: number };
  repositoryOptions?: PinResolverOptions['repositoryOptions'];
  /** Verification cache lifetimes (default: the policy's). */
  verifyTtlMs?: { positive: number; negative: number };
}

/**
 * The OCIRepository reconciler as `startController` builds it (Secrets read with the admin's kubeconfig, the
 * flows' resolver and verifier, the pull flow), under a manager with 2 workers, started and synced.
 */
export async function startOciRepositoryManager(options: InProcessControllerOptions): Promise<ControllerManager> {
  const { api, policy } = options;
  const secrets = createKubeSecretReader({ kubeconfig: options.cp.adminKubeconfig });
  const pins = createPinResolver({
    access: clusterAccess(secrets),
    verifyOnResolve: false,
    ...(options.repositoryOptions ? { repositoryOptions: options.repositoryOptions } : {}),
  });
  const ttl = options.verifyTtlMs;
  const oci = createOciRepositoryController({
    status: createStatusWriter({ api, resource: RESOURCES.ociRepository }),
    finalizers: createFinalizerWriter({ api, resource: RESOURCES.ociRepository }),
    events: createEventRecorder({ api }),
    store: options.store,
    pins,
    verifier: createAdmissionVerifier({
      pins,
      secrets,
      ...(ttl ? { positiveTtlMs: ttl.positive, negativeTtlMs: ttl.negative } : {}),
    }),
    pull: flowPuller,
    policy: () => policy,
  });
  const manager = createControllerManager({ api, controllers: [oci], workers: 2, backoff: options.backoff });
  manager.start();
  await manager.waitForSync(AbortSignal.timeout(20_000));
  return manager;
}
