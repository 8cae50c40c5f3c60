/**
 * Remote clusters for `spec.kubeConfig` (kustomize-controller's impersonator with a kubeconfig): the Secret in the
 * Kustomization's namespace is read through the kube room's SecretReader (key `key`, else `value`, then
 * `value.yaml`), judged by `core/kubeconfig` (the operator's `--remote-cluster` allow-list, exec and TLS flags),
 * and turned into object clients that impersonate `serviceAccountName` on the remote cluster, as Flux does.
 * Clients are kept in the runtime's bounded LRU cache keyed by the Secret's resourceVersion (a changed Secret is a
 * new key; at most `maxClients`). The Secret's bytes never enter a message, log or Event: errors name the Secret
 * and key only.
 */
import { createHash } from 'node:crypto';
import { PinwardenError, toPinwardenError } from '../../core/errors.ts';
import { parseRemoteKubeConfig } from '../../core/kubeconfig/index.ts';
import type { RemoteClusterRules, RemoteKubeConfig } from '../../core/kubeconfig/index.ts';
import type { ObjectClient, ObjectClients, SecretReader } from '../../kube/index.ts';
import { createBoundedCache } from '../../runtime/index.ts';
import type { KubeConfigRef, KustomizationSpecView } from './spec.ts';

export type { RemoteClusterRules };

export interface RemoteClusters {
  /**
   * The clients of a Kustomization's `spec.kubeConfig`. Throws `PinwardenError`: `PW_KUBECONFIG_NOT_FOUND`
   * (Secret or key missing), `PW_KUBECONFIG_INVALID`, `PW_KUBECONFIG_REFUSED`, `PW_REMOTE_CLUSTER_DENIED`, or the
   * Secret read's own error (`PW_KUBE_API`, `PW_DEADLINE`).
   */
  clientsFor(ref: KubeConfigRef, namespace: string, signal?: AbortSignal): Promise<ObjectClients>;
  /** Cached clients (tests, metrics). */
  readonly size: number;
}

export interface RemoteClustersOptions {
  secrets: SecretReader;
  rules: RemoteClusterRules;
  /** Builds the clients of a judged kubeconfig (the kube room's `createRemoteObjectClients`). */
  build: (config: RemoteKubeConfig) => ObjectClients;
  /** Cached remote clients (default 32), least recently used dropped first. */
  maxClients?: number;
}

/** Flux's default keys of a kubeconfig Secret, in order. */
export const KUBECONFIG_KEYS = ['value', 'value.yaml'] as const;

export function createRemoteClusters(options: RemoteClustersOptions): RemoteClusters {
  const clients = createBoundedCache<ObjectClients>({
    maxEntries: options.maxClients ?? 32,
    maxBytes: Number.MAX_SAFE_INTEGER,
    ttlMs: Number.POSITIVE_INFINITY,
    sizeOf: () => 1,
  });
  return {
    get size() {
      return clients.size;
    },
    async clientsFor(ref, namespace, signal) {
      if (ref.kind === 'invalid') throw new PinwardenError('PW_KUBECONFIG_INVALID', ref.problem);
      if (ref.kind === 'ConfigMap')
        throw new PinwardenError(
          'PW_KUBECONFIG_REFUSED',
          `spec.kubeConfig.configMapRef (cloud workload identity) is not supported by pinwarden: use spec.kubeConfig.secretRef with a kubeconfig Secret`,
        );
      const label = `Secret '${namespace}/${ref.name}'`;
      if (options.rules.allowedServers.length === 0)
        throw new PinwardenError(
          'PW_REMOTE_CLUSTER_DENIED',
          `spec.kubeConfig (${label}): no remote cluster is allowed: the controller needs --remote-cluster HOST[:PORT] naming the remote API server (chart: controller.kustomization.remoteClusters)`,
        );
      const secret = await options.secrets.getSecret(namespace, ref.name, signal);
      if (secret === undefined)
        throw new PinwardenError('PW_KUBECONFIG_NOT_FOUND', `spec.kubeConfig: ${label} not found`);
      const keys = ref.key === undefined ? KUBECONFIG_KEYS : [ref.key];
      const key = keys.find((candidate) => Object.hasOwn(secret.data, candidate));
      if (key === undefined)
        throw new PinwardenError(
          'PW_KUBECONFIG_NOT_FOUND',
          `spec.kubeConfig: ${label} has no key ${keys.map((candidate) => `'${candidate}'`).join(' or ')}`,
        );
      const bytes = secret.data[key]!;
      const version = secret.resourceVersion ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const cacheKey = `${namespace}\u0000${ref.name}\u0000${key}\u0000${version}`;
      const hit = clients.get(cacheKey);
      if (hit !== undefined) return hit;
      const config = parseRemoteKubeConfig(bytes, options.rules, `${label} key '${key}'`);
      const built = options.build(config);
      clients.set(cacheKey, built);
      return built;
    },
  };
}

/** Codes that only a spec or an operator change can fix: the Kustomization is Stalled. */
const STALLING = new Set(['PW_KUBECONFIG_REFUSED', 'PW_REMOTE_CLUSTER_DENIED']);

/**
 * The client a Kustomization with `spec.kubeConfig` applies, prunes and health-checks with (impersonating
 * `serviceAccount` on the remote cluster), or the error and whether it stalls the object.
 */
export async function remoteClientFor(
  remote: RemoteClusters | undefined,
  spec: Pick<KustomizationSpecView, 'kubeConfig' | 'namespace'>,
  serviceAccount: { namespace: string; name: string } | undefined,
  signal?: AbortSignal,
): Promise<{ client: ObjectClient } | { error: PinwardenError; stalled: boolean }> {
  const ref = spec.kubeConfig!;
  try {
    if (remote === undefined)
      throw new PinwardenError(
        'PW_REMOTE_CLUSTER_DENIED',
        'spec.kubeConfig: no remote cluster is allowed: the controller needs --remote-cluster HOST[:PORT] naming the remote API server (chart: controller.kustomization.remoteClusters)',
      );
    const clients = await remote.clientsFor(ref, spec.namespace, signal);
    return { client: clients.clientFor(serviceAccount) };
  } catch (error) {
    const problem = toPinwardenError(error, 'PW_KUBE_API');
    return { error: problem, stalled: STALLING.has(problem.code) || ref.kind === 'invalid' };
  }
}
