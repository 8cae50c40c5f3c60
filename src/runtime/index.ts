/**
 * The runtime room's public surface: what every process needs (the webhook, the controller, the CLI):
 * version, clock, bounded cache, logger, metrics registry, file watching, the one policy loader with reload,
 * certificate reload and the serving TLS settings.
 */
export { VERSION } from './version.ts';
export { MIN_NODE_MAJOR, nodeVersionProblem } from './node-version.ts';
export { createManualClock, systemClock } from './clock.ts';
export type { Clock, ManualClock, Timer } from './clock.ts';
export { cacheKeyOf, createBoundedCache, defaultSizeOf } from './bounded-cache.ts';
export type { BoundedCache, BoundedCacheOptions } from './bounded-cache.ts';
export { createLogger, REDACT_PATHS } from './logger.ts';
export type { Logger } from './logger.ts';
export {
  createAuditMetrics,
  LATENCY_BUCKETS,
  createMetricsRegistry,
  createRegistryMetrics,
  createReloadMetrics,
  metricsOn,
} from './metrics.ts';
export type { AuditMetricsSink, MetricsOn, RegistryMetrics, ReloadTarget } from './metrics.ts';
export { watchFiles } from './file-watch.ts';
export type { FileWatch, FileWatchOptions } from './file-watch.ts';
export { readInputFile } from './read-file.ts';
export { createPolicyHolder, policyFromFile, readPolicy, staticPolicy } from './policy-file.ts';
export type { PolicyFileOptions, PolicyHolder, PolicySource, ReloadingPolicySource } from './policy-file.ts';
export { loadTlsPair, watchTlsPair } from './tls-reload.ts';
export type { TlsPair, TlsReloadOptions } from './tls-reload.ts';
export {
  INTERMEDIATE_CIPHERS,
  MIN_TLS_VERSION,
  certificateFacts,
  reloadRefusal,
  secureContextOptions,
  serverTlsOptions,
} from './tls-policy.ts';
export type { CertificateFacts, ServingMaterial } from './tls-policy.ts';
export { mapLimited, pause, untilStopSignal } from './process.ts';
