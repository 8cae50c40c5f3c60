/**
 * Turns the OCI room's events into the shared registry-side metrics of `runtime/` (requests, retries, the tag
 * cache, coalescing): one sink for the webhook and the controller.
 */
import type { EventSink, RegistryEvent } from '../oci/index.ts';
import type { RegistryMetrics } from '../runtime/index.ts';

export function registryMetricsSink(metrics: RegistryMetrics): EventSink {
  return (event: RegistryEvent): void => {
    switch (event.type) {
      case 'request':
        metrics.request(event.endpoint, event.method, String(event.outcome), event.durationMs / 1000);
        return;
      case 'retry':
        metrics.retry(event.endpoint);
        return;
      case 'cache':
        metrics.cache(event.outcome);
        return;
      case 'coalesced':
        metrics.coalesced();
        return;
      case 'token':
      case 'response-body':
        return;
    }
  };
}

/** What `loggingRegistryEvents` needs of a logger (pino's and the controller's both fit). */
export interface DebugLogger {
  debug(fields: Record<string, unknown>, message: string): void;
}

/**
 * A process's registry event sink: error bodies never reach an admission answer or a status (no read-back), so
 * operators see them at debug level here; every event then goes on to `next` (the metrics).
 */
export function loggingRegistryEvents(logger: DebugLogger, next: EventSink): EventSink {
  return (event: RegistryEvent): void => {
    if (event.type === 'response-body')
      logger.debug(
        { registry: event.registry, method: event.method, url: event.url, status: event.status, body: event.summary },
        'registry error body',
      );
    next(event);
  };
}
