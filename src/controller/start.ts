/**
 * Builds and starts the embedded controller: the Kubernetes client, the artifact store, registry access and
 * verification through flows (the same pin resolver and verifier as the webhook), the OCIRepository
 * reconciler (and any other `KindController`s given, e.g. the Kustomization reconciler), and the manager
 * with leader election. `pinwarden controller` and `pinwarden serve --controller` both call this.
 */
import type { Registry } from 'prom-client';
import type { SourcePolicy } from '../core/policy/index.ts';
import { clusterAccess, createAdmissionVerifier, createPinResolver, loggingRegistryEvents } from '../flows/index.ts';
import { createKubeApi, createObjectClients, createRemoteObjectClients, loadKubeConfig } from '../kube/index.ts';
import type { KubeApi, SecretReader } from '../kube/index.ts';
import {
  createControllerManager,
  createControllerMetrics,
  createEventRecorder,
  createFinalizerWriter,
  createStatusWriter,
} from './runtime/index.ts';
import type {
  ControllerLogger,
  ControllerManager,
  ControllerMetrics,
  EventRecorder,
  KindController,
  ManagerSettings,
  StatusWriter,
} from './runtime/index.ts';
import { createOciRepositoryController } from './source/ocirepository.ts';
import { createKustomizationController, createRemoteClusters } from './kustomization/index.ts';
import type { KustomizationOptions, RemoteClusterRules } from './kustomization/index.ts';
import type { ArtifactPuller } from './source/ocirepository.ts';
import { createArtifactStore } from './source/store.ts';
import type { ArtifactStore } from './source/store.ts';
import { RESOURCES } from '../kube/index.ts';

/** The manager's settings (namespaces, workers, leader election, backoff…) pass through as they are. */
export interface ControllerOptions extends ManagerSettings {
  kubeconfig?: string;
  /** Or a ready client (tests). */
  api?: KubeApi;
  storage: { dir: string; maxBytes: number };
  policy: () => SourcePolicy;
  /**
   * Subscribes to replacements of the policy in force (the policy holder's `onChange`: a file reload, a
   * SourcePolicy change); every watched object is then requeued at once, so a tightened policy stalls what it
   * now forbids, and a loosened one frees what it stalled, without waiting for each object's interval.
   */
  policyChanges?: (listener: () => void) => () => void;
  secrets: SecretReader;
  pull: ArtifactPuller;
  logger: ControllerLogger;
  /** Register the metrics here (the webhook's registry in `serve --controller`). */
  metricsRegistry?: Registry;
  /**
   * The KubeConfig the Kustomization reconciler applies with (impersonating `serviceAccountName`); default:
   * loaded from `kubeconfig` (or the default lookup) unless only `api` was given.
   */
  kubeConfig?: ReturnType<typeof loadKubeConfig>;
  /** Kustomization reconciler options (`--requeue-dependency`, `--no-cross-namespace-refs`, …); `false` turns it off. */
  kustomization?: Partial<KustomizationOptions> | false;
  /**
   * `spec.kubeConfig` (remote clusters): the API servers a tenant's kubeconfig may name (`--remote-cluster`) and
   * whether exec plugins / insecure TLS are honoured. Default: no remote cluster allowed.
   */
  remoteClusters?: RemoteClusterRules;
  /** Extra reconcilers built on the shared parts. */
  extraControllers?: (parts: ControllerParts) => KindController[];
}

export interface ControllerParts {
  api: KubeApi;
  store: ArtifactStore;
  events: EventRecorder;
  statusWriter: (resource: KindController['resource']) => StatusWriter;
  logger: ControllerLogger;
}

export interface RunningController {
  manager: ControllerManager;
  store: ArtifactStore;
  metrics: ControllerMetrics;
  isReady(): boolean;
  /** Graceful: the step in flight finishes, the Lease is released. */
  close(): Promise<void>;
}

export async function startController(options: ControllerOptions): Promise<RunningController> {
  const metrics = createControllerMetrics(options.metricsRegistry);
  const api =
    options.api ??
    createKubeApi({
      ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
      onCall: (method, status) => metrics.onApiCall(method, status),
    });
  const store = createArtifactStore({ root: options.storage.dir, maxBytes: options.storage.maxBytes });
  await store.open();
  const logger = options.logger;
  const onEvent = loggingRegistryEvents(logger, metrics.onRegistryEvent);
  const pins = createPinResolver({ access: clusterAccess(options.secrets), onEvent, verifyOnResolve: false });
  const verifier = createAdmissionVerifier({ pins, secrets: options.secrets });
  const events = createEventRecorder({
    api,
    onError: (error) => logger.warn({ code: error.code, err: error.message }, 'event not recorded'),
  });
  const statusWriter = (resource: KindController['resource']): StatusWriter => createStatusWriter({ api, resource });
  const oci = createOciRepositoryController({
    status: statusWriter(RESOURCES.ociRepository),
    finalizers: createFinalizerWriter({ api, resource: RESOURCES.ociRepository }),
    events,
    store,
    pins,
    verifier,
    pull: options.pull,
    policy: options.policy,
  });
  const parts: ControllerParts = { api, store, events, statusWriter, logger };
  const kubeConfig = options.kubeConfig ?? (options.api === undefined ? loadKubeConfig(options.kubeconfig) : undefined);
  const kustomizations: KindController[] = [];
  if (options.kustomization !== false && kubeConfig !== undefined) {
    const clients = createObjectClients(kubeConfig);
    kustomizations.push(
      createKustomizationController({
        client: clients.client,
        clientFor: (account) => clients.clientFor(account),
        artifacts: store,
        // The kubeconfig Secret is read as the controller, through the process's (cached) Secret reader.
        remote: createRemoteClusters({
          secrets: options.secrets,
          rules: options.remoteClusters ?? { allowedServers: [], allowExec: false, allowInsecureTls: false },
          build: (config) => createRemoteObjectClients(config),
        }),
        status: statusWriter(RESOURCES.kustomization),
        finalizers: createFinalizerWriter({ api, resource: RESOURCES.kustomization }),
        events,
        ...(options.kustomization === undefined ? {} : { options: options.kustomization }),
      }),
    );
  } else if (options.kustomization !== false) {
    logger.warn({}, 'no kubeconfig for the Kustomization reconciler: Kustomizations are not reconciled');
  }
  const manager = createControllerManager({
    ...managerSettings(options),
    api,
    controllers: [oci, ...kustomizations, ...(options.extraControllers?.(parts) ?? [])],
    metrics,
    logger,
  });
  manager.start();
  // Only the leader's workers reconcile: on a follower the keys wait (its workers start when it leads, and
  // then every object is queued anyway).
  const unsubscribe = options.policyChanges?.(() => {
    logger.info({}, 'policy changed: every object is reconciled again');
    manager.requeueAll();
  });
  return {
    manager,
    store,
    metrics,
    isReady: () => manager.synced(),
    async close() {
      unsubscribe?.();
      await manager.stop();
      pins.close();
    },
  };
}

/** The manager's part of the options, and only it. */
function managerSettings(options: ManagerSettings): ManagerSettings {
  const { namespaces, labelSelector, workers, leaderElection, backoff, watchTimeoutSeconds, onLostLeadership } =
    options;
  return {
    ...(namespaces ? { namespaces } : {}),
    ...(labelSelector ? { labelSelector } : {}),
    ...(workers !== undefined ? { workers } : {}),
    ...(leaderElection ? { leaderElection } : {}),
    ...(backoff ? { backoff } : {}),
    ...(watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds } : {}),
    ...(onLostLeadership ? { onLostLeadership } : {}),
  };
}
