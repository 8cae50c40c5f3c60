/**
 * The thin `serve` entry: loads policy and certificates, wires flows, metrics and logs into `buildServer`,
 * listens (HTTPS webhook + plain-HTTP metrics port), reloads policy and certificates on change, and closes
 * everything in order on `close()` (in-flight reviews finish first).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:https';
import type { FastifyInstance } from 'fastify';
import {
  cachingNamespaceReader,
  cachingSecretReader,
  createKubeApi,
  createKubeConnection,
  createKubeNamespaceReader,
  createKubeSecretReader,
  startClusterPolicySource,
} from '../kube/index.ts';
import type { ClusterPolicySource, KubeApi, NamespaceReader, SecretReader } from '../kube/index.ts';
import { PinwardenError } from '../core/errors.ts';
import type { ExceptionSet } from '../core/exceptions/index.ts';
import { defaultPolicy } from '../core/policy/index.ts';
import {
  clusterAccess,
  createAdmissionVerifier,
  createPinFailureLog,
  createPinResolver,
  loggingRegistryEvents,
} from '../flows/index.ts';
import type { PinResolverOptions } from '../flows/index.ts';
import { createRegistryConnections } from '../oci/index.ts';
import { admissionFlows } from './deps.ts';
import type { AdmissionFlows } from './deps.ts';
import { createLogger, loadTlsPair, policyFromFile, watchTlsPair } from '../runtime/index.ts';
import type { Clock, FileWatch, FileWatchOptions, Logger } from '../runtime/index.ts';
import { createWebhookMetrics } from './metrics.ts';
import type { WebhookMetrics } from './metrics.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import { buildMetricsServer } from './metrics-server.ts';
import { buildServer } from './server.ts';
import { createIdentityOffload } from './identity-offload.ts';
import type { IdentityOffload } from './identity-offload.ts';
import type { ConnectionLimits } from './connection-limits.ts';

export interface ServeOptions {
  port: number;
  metricsPort: number;
  /** Listen address (default 0.0.0.0: the Service reaches the pod on its IP). */
  host?: string;
  tlsCert: string;
  tlsKey: string;
  /** CA bundle (PEM): a client certificate signed by it is required on every connection (the apiserver's). */
  clientCaFile?: string;
  /** Connection, time and body bounds (defaults: DEFAULT_LIMITS). */
  limits?: Partial<ConnectionLimits>;
  config?: string;
  /**
   * Where the policy comes from: `file` (`config`, or the built-in defaults; default) or `cluster` (the
   * SourcePolicy and SourcePolicyException objects, watched; `config` is then not read).
   */
  policySource?: 'file' | 'cluster';
  /** `cluster`: give up starting when the objects were not listed within this time (default 30 s). */
  policySyncTimeoutMs?: number;
  /** `cluster`: the API client (tests); default: one made from `kubeconfig`. */
  kubeApi?: KubeApi;
  /** `cluster`: the clock exceptions are judged by (tests); default: the system clock. */
  clock?: Clock;
  kubeconfig?: string;
  logger?: Logger;
  /** pino level of the default logger (default info; debug adds one line per allowed, unchanged review). */
  logLevel?: string;
  /** Secrets source override (tests); default: the cluster via client-node. */
  secrets?: SecretReader;
  /** Namespace label source override (tests); default: the cluster via client-node (rules with namespaceSelector). */
  namespaces?: NamespaceReader;
  /** Debounce / poll tuning for the policy and certificate watchers. */
  watch?: FileWatchOptions;
  repositoryOptions?: PinResolverOptions['repositoryOptions'];
  /**
   * A service started in the same process (`serve --controller`: the embedded controller), with this process's
   * logger, metrics registry, policy and Secrets. `/readyz` waits for it; it is closed first on shutdown.
   */
  embedded?: (shared: EmbeddedShared) => Promise<EmbeddedService>;
}

export interface EmbeddedShared {
  logger: Logger;
  registry: WebhookMetrics['registry'];
  policy: () => SourcePolicy;
  /** Subscribes to replacements of the policy in force (file reload or SourcePolicy change); returns the unsubscribe. */
  policyChanges: (listener: () => void) => () => void;
  secrets: SecretReader;
  /** The SourcePolicyExceptions in force (cluster policy source), judged by now. */
  exceptions: () => ExceptionSet | undefined;
  /** The webhook's own admission flows (the audit judges with `validate`, exactly as `/validate` does). */
  flows: AdmissionFlows;
  /** Keyless identity containment in the webhook's worker, off the event loop (as `/validate` does first). */
  identities: IdentityOffload['prepare'];
}

export interface EmbeddedService {
  isReady(): boolean;
  close(): Promise<void>;
}

export interface RunningServe {
  webhookUrl: string;
  metricsUrl: string;
  isReady(): boolean;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startServe(options: ServeOptions): Promise<RunningServe> {
  const logger = options.logger ?? createLogger({ ...(options.logLevel ? { level: options.logLevel } : {}) });
  const metrics = createWebhookMetrics();
  const onReload = (outcome: 'ok' | 'error'): void => metrics.observeReload('policy', outcome);
  const policy =
    options.policySource === 'cluster'
      ? await clusterPolicy(options, logger, onReload)
      : await policyFromFile(options.config, { ...options.watch, logger, onReload });
  const pair = await loadTlsPair(options.tlsCert, options.tlsKey, options.clientCaFile).catch((error: unknown) => {
    policy.close();
    throw error;
  });
  // One Kubernetes connection for every adapter, built on first use (serve starts without a cluster).
  const kube = createKubeConnection({ ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}) });
  const secrets = options.secrets ?? cachingSecretReader(createKubeSecretReader({ connection: kube }));
  // Registry error bodies never reach an admission answer (no read-back); operators see them at debug level.
  const onEvent = loggingRegistryEvents(logger, metrics.onRegistryEvent);
  // The process's registry connections and token cache: created here, closed on shutdown.
  const connections = createRegistryConnections();
  const pins = createPinResolver({
    access: clusterAccess(secrets),
    onEvent,
    connections,
    ...(options.repositoryOptions ? { repositoryOptions: options.repositoryOptions } : {}),
  });
  const verifier = createAdmissionVerifier({ pins, secrets });
  const namespaces = options.namespaces ?? cachingNamespaceReader(createKubeNamespaceReader({ connection: kube }));
  const flows = admissionFlows({
    pins,
    failures: createPinFailureLog(),
    now: () => new Date(),
    verifier,
    secrets,
    namespaces,
  });
  const identityOffload = createIdentityOffload();
  const app = buildServer({
    policy,
    flows,
    identityOffload,
    logger,
    metrics,
    https: { cert: pair.cert, key: pair.key, ...(pair.clientCa ? { clientCa: pair.clientCa } : {}) },
    ...(options.limits ? { limits: options.limits } : {}),
  });
  let ready = false;
  let embedded: EmbeddedService | undefined;
  const metricsApp = buildMetricsServer({ metrics, logger, isReady: () => ready && (embedded?.isReady() ?? true) });
  let tlsWatch: FileWatch | undefined;
  const close = async (): Promise<void> => {
    ready = false;
    await embedded?.close();
    tlsWatch?.close();
    policy.close();
    await app.close();
    await metricsApp.close();
    await identityOffload.close();
    pins.close();
    connections.close();
  };
  try {
    const host = options.host ?? '0.0.0.0';
    await app.listen({ port: options.port, host });
    await metricsApp.listen({ port: options.metricsPort, host });
    tlsWatch = watchTlsPair({
      ...options.watch,
      certFile: options.tlsCert,
      keyFile: options.tlsKey,
      ...(options.clientCaFile !== undefined ? { clientCaFile: options.clientCaFile } : {}),
      server: app.server as unknown as Server,
      current: pair,
      logger,
      onReload: (outcome) => metrics.observeReload('tls', outcome),
    });
  } catch (error) {
    await close();
    throw error;
  }
  if (options.embedded) {
    try {
      embedded = await options.embedded({
        logger,
        registry: metrics.registry,
        policy: () => policy.current(),
        policyChanges: (listener) => policy.onChange(listener),
        secrets,
        exceptions: () => policy.exceptions?.(),
        flows,
        identities: (object, namespace, current, deadline) =>
          identityOffload.prepare(object, namespace, current, deadline),
      });
    } catch (error) {
      await close();
      throw error;
    }
  }
  ready = true;
  const webhookUrl = `https://${hostFor(app)}`;
  const metricsUrl = `http://${hostFor(metricsApp)}`;
  logger.info(
    {
      webhook: webhookUrl,
      metrics: metricsUrl,
      certificate: pair.summary,
      clientCertificates: pair.clientCa ? 'required' : 'not asked for',
      policy: policy.current().metadata.name,
      config: options.policySource === 'cluster' ? '(SourcePolicy objects)' : (options.config ?? '(built-in defaults)'),
    },
    'pinwarden serving',
  );
  return { webhookUrl, metricsUrl, isReady: () => ready, app, close };
}

/** The cluster's SourcePolicy objects, listed once before serving (a webhook must not answer from nothing). */
async function clusterPolicy(
  options: ServeOptions,
  logger: Logger,
  onReload: (outcome: 'ok' | 'error') => void,
): Promise<ClusterPolicySource> {
  const api =
    options.kubeApi ??
    createKubeApi({ ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}), userAgent: 'pinwarden-serve' });
  const source = startClusterPolicySource({
    api,
    logger,
    fallback: defaultPolicy(),
    onReload,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const timeoutMs = options.policySyncTimeoutMs ?? 30_000;
  try {
    await source.waitForSync(AbortSignal.timeout(timeoutMs));
  } catch (error) {
    source.close();
    throw new PinwardenError(
      'PW_KUBE_API',
      `--policy-source=cluster: SourcePolicy and SourcePolicyException objects not listed within ${timeoutMs / 1000} s (are the CRDs of deploy/crds installed, and may pinwarden list and watch them?)`,
      { cause: error },
    );
  }
  return source;
}

function hostFor(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${host}:${address.port}`;
}
