/**
 * Records core/v1 Events about an object (what `kubectl describe` and `kubectl get events` show), as Flux's
 * recorder does: `involvedObject` with uid and resourceVersion, `source.component`, the reason, the message,
 * and Flux's revision annotations. The summarizer decides when (on every change of result); the recorder
 * bounds how many it sends (a token bucket) and never fails a reconcile: a failed write is only reported.
 */
import type { PinwardenError } from '../../core/errors.ts';
import { toPinwardenError } from '../../core/errors.ts';
import { RESOURCES, collectionPath } from '../../kube/index.ts';
import type { KubeApi, KubeObject } from '../../kube/index.ts';
import type { RecordedEvent } from './reconcile.ts';

export interface EventRecorderOptions {
  api: KubeApi;
  /** `source.component` (default `pinwarden-controller`). */
  component?: string;
  /** Events per second sustained, and the burst (default 5, 25). */
  rate?: { perSecond: number; burst: number };
  onError?: (error: PinwardenError) => void;
  now?: () => Date;
}

export interface EventRecorder {
  record(object: KubeObject, event: RecordedEvent, signal?: AbortSignal): Promise<void>;
  /** Events not sent because of the rate cap. */
  dropped(): number;
}

const MAX_EVENT_MESSAGE = 1024;

export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  const component = options.component ?? 'pinwarden-controller';
  const rate = options.rate ?? { perSecond: 5, burst: 25 };
  const now = options.now ?? (() => new Date());
  let tokens = rate.burst;
  let refilled = Date.now();
  let droppedCount = 0;

  const take = (): boolean => {
    const at = Date.now();
    tokens = Math.min(rate.burst, tokens + ((at - refilled) / 1000) * rate.perSecond);
    refilled = at;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  return {
    async record(object, event, signal) {
      if (!take()) {
        droppedCount++;
        return;
      }
      const namespace = object.metadata.namespace ?? 'default';
      const time = now()
        .toISOString()
        .replace(/\.\d+Z$/, 'Z');
      const message =
        event.message.length > MAX_EVENT_MESSAGE ? `${event.message.slice(0, MAX_EVENT_MESSAGE - 1)}…` : event.message;
      const body = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: {
          generateName: `${object.metadata.name.slice(0, 200)}.`,
          namespace,
          ...(event.annotations ? { annotations: event.annotations } : {}),
        },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: object.metadata.name,
          namespace,
          uid: object.metadata.uid,
          resourceVersion: object.metadata.resourceVersion,
        },
        reason: event.reason,
        message,
        type: event.type,
        source: { component },
        reportingComponent: component,
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      };
      try {
        await options.api.request({
          method: 'POST',
          path: collectionPath(RESOURCES.event, namespace),
          body,
          timeoutMs: 5000,
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        options.onError?.(toPinwardenError(error));
      }
    },
    dropped: () => droppedCount,
  };
}
