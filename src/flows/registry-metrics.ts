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
