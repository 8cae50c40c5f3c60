/**
 * The runtime room's public surface: what every process needs (the webhook, the controller, the CLI):
 * version, clock, bounded cache, logger, metrics registry, file watching, the one policy loader with reload,
 * certificate reload and the serving TLS settings.
 */
export * from './version.ts';
export * from './node-version.ts';
export * from './clock.ts';
export * from './bounded-cache.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './file-watch.ts';
export * from './read-file.ts';
export * from './policy-file.ts';
export { loadTlsPair, watchTlsPair } from './tls-reload.ts';
export type { TlsPair, TlsReloadOptions } from './tls-reload.ts';
export * from './tls-policy.ts';
export * from './process.ts';
