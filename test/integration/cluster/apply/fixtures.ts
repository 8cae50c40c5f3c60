/** Shared bits of the apply tests on the real control plane: a test CRD with a status subresource, namespaces, reading live objects. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlane } from '../../../support/control-plane.ts';
import type { Loose } from '../../../helpers/admission.ts';
import type { KubeObject } from '../../../../src/controller/apply/index.ts';
import { RESOURCES, createKubeApi } from '../../../../src/kube/index.ts';
import type { ObjectClient, ObjectClients } from '../../../../src/kube/index.ts';
import { createKustomizationController } from '../../../../src/controller/index.ts';
import type { KustomizationControllerOptions } from '../../../../src/controller/index.ts';
import {
  createControllerManager,
  createEventRecorder,
  createFinalizerWriter,
  createStatusWriter,
} from '../../../../src/controller/runtime/index.ts';
import type { ControllerManager, ManagerOptions } from '../../../../src/controller/runtime/index.ts';

/** A namespaced test kind whose status the tests write themselves (kstatus reads its conditions). */
export const WIDGET_CRD: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.test.pinwarden.dev' },
  spec: {
    group: 'test.pinwarden.dev',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

let counter = 0;
export async function freshNamespace(cp: ControlPlane, prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid % 10000}-${++counter}`;
  await cp.kubectlOk(['create', 'namespace', name]);
  return name;
}

/** ServiceAccount `deployer` in `ns`, allowed `verbs` on the ConfigMaps of `ns` only (Role `cm` and its RoleBinding). */
export async function configMapDeployer(cp: ControlPlane, ns: string, verbs: string): Promise<void> {
  await cp.kubectlOk(['create', 'serviceaccount', '-n', ns, 'deployer']);
  await cp.kubectlOk(['create', 'role', '-n', ns, 'cm', `--verb=${verbs}`, '--resource=configmaps']);
  await cp.kubectlOk(['create', 'rolebinding', '-n', ns, 'deployer', '--role=cm', `--serviceaccount=${ns}:deployer`]);
}

export async function live(cp: ControlPlane, args: string[]): Promise<Loose> {
  const result = await cp.kubectl(['get', ...args, '-o', 'json', '--show-managed-fields']);
  return result.code === 0 ? JSON.parse(result.stdout) : undefined;
}

export function managers(object: Loose): string[] {
  return (object?.metadata?.managedFields ?? [])
    .map((entry: Loose) => `${entry.manager}/${entry.operation}${entry.subresource ? `/${entry.subresource}` : ''}`)
    .sort();
}

export function configMap(
  namespace: string | undefined,
  name: string,
  data: Record<string, string>,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string>; immutable?: boolean } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      ...(namespace === undefined ? {} : { namespace }),
      ...(extra.labels ? { labels: extra.labels } : {}),
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    data,
    ...(extra.immutable === undefined ? {} : { immutable: extra.immutable }),
  };
}

/**
 * Artifacts as plain directories, published the way the OCIRepository reconciler would leave them: the object
 * and its `status.artifact` with a made-up digest (`fill` keeps each file's digests apart), so a Kustomization
 * reconciler under test finds them through `directoryFor` without a registry.
 */
export function createArtifactDirs(fill: string) {
  const dirs = new Map<string, string>();
  let n = 0;
  return {
    directoryFor: async (digest: string): Promise<string | undefined> => dirs.get(digest),
    async publish(client: ObjectClient, ns: string, files: Record<string, string>): Promise<string> {
      const dir = mkdtempSync(join(tmpdir(), 'pinwarden-artifact-'));
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      const digest = `sha256:${(++n).toString(16).padStart(64, fill)}`;
      dirs.set(digest, dir);
      const revision = `latest@${digest}`;
      const object = { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'OCIRepository' };
      const metadata = { name: 'app', namespace: ns };
      const spec = { url: 'oci://registry.example/app', interval: '10m' };
      await client.apply({ ...object, metadata, spec }, { fieldManager: 'test', force: true });
      const artifact = { digest, revision, path: 'x', url: 'file:///x', lastUpdateTime: '2026-12-03T00:00:00Z' };
      await client.applyStatus({ ...object, metadata, status: { artifact } }, { fieldManager: 'test', force: true });
      return revision;
    },
    remove(): void {
      for (const dir of dirs.values()) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The Kustomization reconciler under the controller manager, as `pinwarden controller` runs it, with short stage,
 * health and termination polls. The OCIRepository reconciler is not under test: a stand-in only lets the manager
 * watch the sources (so a new artifact requeues its Kustomizations).
 */
export async function startKustomizationManager(
  cp: ControlPlane,
  clients: ObjectClients,
  extra: Pick<KustomizationControllerOptions, 'artifacts'> &
    Partial<Pick<KustomizationControllerOptions, 'remote'>> & { logger?: ManagerOptions['logger'] },
): Promise<ControllerManager> {
  const api = createKubeApi({ config: cp.kubeConfig() });
  const kustomizations = createKustomizationController({
    client: clients.client,
    clientFor: (account) => clients.clientFor(account),
    artifacts: extra.artifacts,
    ...(extra.remote === undefined ? {} : { remote: extra.remote }),
    status: createStatusWriter({ api, resource: RESOURCES.kustomization }),
    finalizers: createFinalizerWriter({ api, resource: RESOURCES.kustomization }),
    events: createEventRecorder({ api }),
    options: { stageIntervalMs: 200, healthIntervalMs: 200 },
    terminationIntervalMs: 200,
  });
  const sources = {
    resource: RESOURCES.ociRepository,
    reconcile: async () => ({ result: 'success' as const, requeue: { never: true as const } }),
  };
  const manager = createControllerManager({
    api,
    controllers: [sources, kustomizations],
    workers: 2,
    backoff: { baseMs: 100, maxMs: 2_000 },
    ...(extra.logger === undefined ? {} : { logger: extra.logger }),
  });
  manager.start();
  await manager.waitForSync(AbortSignal.timeout(30_000));
  return manager;
}
