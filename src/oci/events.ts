/**
 * What the OCI client reports about itself, so the webhook can feed prom-client (or a log) without this
 * room importing either: pass `onEvent` to HttpRepository / createResolver, or fold events into
 * `createRegistryStats()` for a plain counters object.
 */
import { redactUrl, summarizeErrorBody } from './registry-error.ts';

/** Which distribution-spec endpoint a request hit (bounded label set for metrics). */
export type Endpoint = 'manifest' | 'blob' | 'upload' | 'tags' | 'referrers' | 'token';

export type RegistryEvent =
  | {
      type: 'request';
      endpoint: Endpoint;
      method: string;
      registry: string;
      /** HTTP status, or the error code when no answer came (network, deadline). */
      outcome: number | 'network' | 'deadline';
      durationMs: number;
    }
  | { type: 'retry'; endpoint: Endpoint; registry: string; reason: string; delayMs: number }
  | { type: 'cache'; outcome: 'hit' | 'miss' }
  | { type: 'coalesced' }
  | { type: 'token'; registry: string; outcome: 'fetched' | 'cached' }
  /** A non-success answer's body, summarised (capped, control characters and credentials removed): debug logs only. */
  | { type: 'response-body'; registry: string; method: string; url: string; status: number; summary: string };

export type EventSink = (event: RegistryEvent) => void;

export interface RegistryStats {
  /** `endpoint method outcome` → count, e.g. `manifest HEAD 200`. */
  requests: Record<string, number>;
  requestMs: Record<string, number>;
  retries: number;
  cacheHits: number;
  cacheMisses: number;
  coalesced: number;
  tokensFetched: number;
  tokensCached: number;
}

/** A counters object plus the sink that fills it; `chain` forwards every event to another sink too. */
export function createRegistryStats(chain?: EventSink): { stats: RegistryStats; onEvent: EventSink } {
  const stats: RegistryStats = {
    requests: {},
    requestMs: {},
    retries: 0,
    cacheHits: 0,
    cacheMisses: 0,
    coalesced: 0,
    tokensFetched: 0,
    tokensCached: 0,
  };
  const onEvent: EventSink = (event) => {
    record(stats, event);
    chain?.(event);
  };
  return { stats, onEvent };
}

function record(stats: RegistryStats, event: RegistryEvent): void {
  switch (event.type) {
    case 'request': {
      const key = `${event.endpoint} ${event.method} ${event.outcome}`;
      stats.requests[key] = (stats.requests[key] ?? 0) + 1;
      stats.requestMs[key] = (stats.requestMs[key] ?? 0) + event.durationMs;
      return;
    }
    case 'retry':
      stats.retries++;
      return;
    case 'cache':
      if (event.outcome === 'hit') stats.cacheHits++;
      else stats.cacheMisses++;
      return;
    case 'coalesced':
      stats.coalesced++;
      return;
    case 'token':
      if (event.outcome === 'fetched') stats.tokensFetched++;
      else stats.tokensCached++;
      return;
    case 'response-body':
      return;
  }
}

/** Calls a sink without letting a faulty metrics hook break a registry call. */
export function emit(sink: EventSink | undefined, event: RegistryEvent): void {
  if (!sink) return;
  try {
    sink(event);
  } catch {
    // metrics must never change the outcome of a call
  }
}

/** Hands a non-success body to debug logging (summarised, capped and redacted), never to an error message. */
export function emitResponseBody(
  sink: EventSink | undefined,
  registry: string,
  method: string,
  url: URL,
  status: number,
  body: Uint8Array,
): void {
  if (!sink || body.byteLength === 0) return;
  emit(sink, {
    type: 'response-body',
    registry,
    method,
    url: redactUrl(url),
    status,
    summary: summarizeErrorBody(body),
  });
}
