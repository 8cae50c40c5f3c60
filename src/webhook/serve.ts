/**
 * The thin `serve` entry: loads policy and certificates, wires flows, metrics and logs into `buildServer`,
 * listens (HTTPS webhook + plain-HTTP metrics port), reloads policy and certificates on change, and closes
 * everything in order on `close()` (in-flight reviews finish first).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:https';
import type { FastifyInstance } from 'fastify';
import { cachingNamespaceReader, cachingSecretReader, createKubeConnection, createKubeNamespaceReader, createKubeSecretReader } from '../kube/index.ts';
import type { NamespaceReader, SecretReader } from '../kube/index.ts';
import { clusterAccess, createAdmissionVerifier, createPinFailureLog, createPinResolver } from '../flows/index.ts';
import type { PinResolverOptions } from '../flows/index.ts';
import { createRegistryConnections } from '../oci/index.ts';
import type { EventSink } from '../oci/index.ts';
import { admissionFlows } from './deps.ts';
import { createLogger, loadTlsPair, policyFromFile, watchTlsPair } from '../runtime/index.ts';
import type { FileWatch, FileWatchOptions, Logger } from '../runtime/index.ts';
import { createWebhookMetrics } from './metrics.ts';
import type { WebhookMetrics } from './metrics.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import { buildMetricsServer } from './metrics-server.ts';
import { buildServer } from './server.ts';
import { createIdentityOffload } from './identity-offload.ts';
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
  secrets: SecretReader;
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
  const policy = await policyFromFile(options.config, { ...options.watch, logger, onReload: (outcome) => metrics.observeReload('policy', outcome) });
  const pair = await loadTlsPair(options.tlsCert, options.tlsKey, options.clientCaFile).catch((error: unknown) => {
    policy.close();
    throw error;
  });
  // One Kubernetes connection for every adapter, built on first use (serve starts without a cluster).
  const kube = createKubeConnection({ ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}) });
  const secrets = options.secrets ?? cachingSecretReader(createKubeSecretReader({ connection: kube }));
  const onEvent: EventSink = (event) => {
    // Registry error bodies never reach an admission answer (no read-back); operators see them at debug level.
    if (event.type === 'response-body') logger.debug({ registry: event.registry, method: event.method, url: event.url, status: event.status, body: event.summary }, 'registry error body');
    metrics.onRegistryEvent(event);
  };
  // The process's registry connections and token cache: created here, closed on shutdown.
  const connections = createRegistryConnections();
  const pins = createPinResolver({ access: clusterAccess(secrets), onEvent, connections, ...(options.repositoryOptions ? { repositoryOptions: options.repositoryOptions } : {}) });
  const verifier = createAdmissionVerifier({ pins, secrets });
  const namespaces = options.namespaces ?? cachingNamespaceReader(createKubeNamespaceReader({ connection: kube }));
  const flows = admissionFlows({ pins, failures: createPinFailureLog(), now: () => new Date(), verifier, secrets, namespaces });
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
      embedded = await options.embedded({ logger, registry: metrics.registry, policy: () => policy.current(), secrets });
    } catch (error) {
      await close();
      throw error;
    }
  }
  ready = true;
  const webhookUrl = `https://${hostFor(app)}`;
  const metricsUrl = `http://${hostFor(metricsApp)}`;
  logger.info({ webhook: webhookUrl, metrics: metricsUrl, certificate: pair.summary, clientCertificates: pair.clientCa ? 'required' : 'not asked for', policy: policy.current().metadata.name, config: options.config ?? '(built-in defaults)' }, 'pinwarden serving');
  return { webhookUrl, metricsUrl, isReady: () => ready, app, close };
}

function hostFor(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${host}:${address.port}`;
}
