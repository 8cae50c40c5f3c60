/**
 * An informer for any resource: list (paged), then watch from the list's resourceVersion with bookmarks,
 * and resume the watch from the last resourceVersion seen whenever the connection ends or drops, so no event
 * is missed. When the apiserver says the resourceVersion is too old (HTTP 410 Gone, or an ERROR event with
 * code 410), it lists again and turns the difference with its cache into ADDED / MODIFIED / DELETED events.
 * Every call has a deadline (list pages: `requestTimeoutMs`; a watch: its server-side `timeoutSeconds` plus
 * a margin, and an idle timer), and failures are retried with capped exponential backoff.
 *
 * The cache holds the objects of one resource in one namespace (or cluster-wide), optionally filtered by a
 * label selector; `maxObjects` bounds it.
 */
import { PinwardenError } from '../core/errors.ts';
import { pause } from '../runtime/index.ts';
import { kubeStatusOf } from './api.ts';
import type { KubeApi, WatchEvent } from './api.ts';
import { collectionPath, objectKey } from './resource.ts';
import type { KubeObject, ResourceType } from './resource.ts';

export type InformerEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface InformerEvent {
  type: InformerEventType;
  object: KubeObject;
  /** The cached object it replaces (MODIFIED, DELETED). */
  previous?: KubeObject;
}

export interface InformerOptions {
  api: KubeApi;
  resource: ResourceType;
  /** One namespace; undefined = every namespace. */
  namespace?: string;
  labelSelector?: string;
  onEvent: (event: InformerEvent) => void;
  /** Page size of a list (default 500). */
  pageSize?: number;
  /** Server-side watch duration (default 300 s, minus up to 10 % jitter). */
  watchTimeoutSeconds?: number;
  /** Deadline of one list page (default 30 s). */
  requestTimeoutMs?: number;
  /** Backoff after a failed list or watch: first and longest wait (default 500 ms, 30 s). */
  backoff?: { initialMs: number; maxMs: number };
  /** Cap on cached objects (default 100 000); beyond it the list fails with PW_INPUT_TOO_LARGE. */
  maxObjects?: number;
  /** Told about each failure (logs); the informer keeps going. */
  onError?: (error: PinwardenError) => void;
  /** Told each time the informer (re-)lists, with the reason (metrics, tests). */
  onList?: (reason: 'initial' | 'gone') => void;
}

export interface Informer {
  start(): void;
  /** Stops the watch and the loop; resolves when the loop has ended. */
  stop(): Promise<void>;
  /** True once the first list completed. */
  synced(): boolean;
  /** Resolves once synced (rejects when `signal` aborts first). */
  waitForSync(signal?: AbortSignal): Promise<void>;
  get(namespace: string | undefined, name: string): KubeObject | undefined;
  list(): KubeObject[];
  /** The last resourceVersion seen (list, event or bookmark). */
  resourceVersion(): string | undefined;
}

interface ListResponse {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[];
}

export function createInformer(options: InformerOptions): Informer {
  const { api, resource } = options;
  const path = collectionPath(resource, options.namespace);
  const pageSize = options.pageSize ?? 500;
  const watchSeconds = options.watchTimeoutSeconds ?? 300;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const backoff = options.backoff ?? { initialMs: 500, maxMs: 30_000 };
  const maxObjects = options.maxObjects ?? 100_000;
  const cache = new Map<string, KubeObject>();
  const stopper = new AbortController();
  let rv: string | undefined;
  let isSynced = false;
  let loop: Promise<void> | undefined;
  const syncWaiters = new Set<() => void>();

  const emit = (event: InformerEvent): void => {
    try {
      options.onEvent(event);
    } catch (error) {
      options.onError?.(
        new PinwardenError('PW_INTERNAL', `informer ${resource.kind}: event handler failed`, { cause: error }),
      );
    }
  };

  const relist = async (reason: 'initial' | 'gone'): Promise<void> => {
    options.onList?.(reason);
    const items: KubeObject[] = [];
    let continueToken: string | undefined;
    let listRv: string | undefined;
    do {
      const page = await api.request<ListResponse>({
        method: 'GET',
        path,
        query: { limit: pageSize, continue: continueToken, labelSelector: options.labelSelector || undefined },
        timeoutMs: requestTimeoutMs,
        signal: stopper.signal,
      });
      items.push(...(page.items ?? []));
      if (items.length > maxObjects)
        throw new PinwardenError('PW_INPUT_TOO_LARGE', `informer ${resource.kind}: more than ${maxObjects} objects`);
      continueToken = page.metadata?.continue || undefined;
      listRv = page.metadata?.resourceVersion;
    } while (continueToken !== undefined);
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      const previous = cache.get(key);
      cache.set(key, item);
      if (!previous) emit({ type: 'ADDED', object: item });
      else if (previous.metadata.resourceVersion !== item.metadata.resourceVersion)
        emit({ type: 'MODIFIED', object: item, previous });
    }
    for (const [key, previous] of cache) {
      if (seen.has(key)) continue;
      cache.delete(key);
      emit({ type: 'DELETED', object: previous, previous });
    }
    rv = listRv;
    if (!isSynced) {
      isSynced = true;
      for (const wake of syncWaiters) wake();
      syncWaiters.clear();
    }
  };

  const onWatchEvent = (event: WatchEvent): void => {
    if (event.type === 'ERROR') {
      const { code, message } = event.object as { code?: unknown; message?: unknown };
      throw new PinwardenError(
        'PW_KUBE_API',
        `watch ${resource.kind}: ${(typeof message === 'string' ? message : 'error event').slice(0, 300)}`,
        { details: { status: typeof code === 'number' ? code : 500, reason: 'WatchError' } },
      );
    }
    const object = event.object as unknown as KubeObject;
    const version = object.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (version) rv = version;
      return;
    }
    if (!object.metadata?.name) return;
    const key = objectKey(object);
    const previous = cache.get(key);
    if (event.type === 'DELETED') {
      cache.delete(key);
      emit({ type: 'DELETED', object, ...(previous ? { previous } : {}) });
    } else if (event.type === 'ADDED' || event.type === 'MODIFIED') {
      if (!previous && cache.size >= maxObjects)
        throw new PinwardenError('PW_INPUT_TOO_LARGE', `informer ${resource.kind}: more than ${maxObjects} objects`);
      cache.set(key, object);
      emit({ type: previous ? 'MODIFIED' : 'ADDED', object, ...(previous ? { previous } : {}) });
    }
    if (version) rv = version;
  };

  const watchOnce = async (): Promise<void> => {
    // Jitter spreads the re-watches of many informers.
    const seconds = Math.max(1, Math.round(watchSeconds * (0.9 + Math.random() * 0.1)));
    await api.watch(
      path,
      {
        resourceVersion: rv,
        allowWatchBookmarks: true,
        timeoutSeconds: seconds,
        labelSelector: options.labelSelector || undefined,
      },
      { signal: stopper.signal, idleTimeoutMs: seconds * 1000 + 30_000, connectTimeoutMs: requestTimeoutMs },
      onWatchEvent,
    );
  };

  const run = async (): Promise<void> => {
    let failures = 0;
    let reason: 'initial' | 'gone' = 'initial';
    while (!stopper.signal.aborted) {
      try {
        if (rv === undefined) {
          await relist(reason);
          reason = 'gone';
        }
        await watchOnce();
        failures = 0;
      } catch (error) {
        if (stopper.signal.aborted) break;
        const status = kubeStatusOf(error);
        if (status === 410) {
          // Too old: list again at once (the list itself is the recovery, not a retry of the same call).
          rv = undefined;
          continue;
        }
        options.onError?.(
          error instanceof PinwardenError
            ? error
            : new PinwardenError('PW_INTERNAL', `informer ${resource.kind}: ${String(error)}`, { cause: error }),
        );
        const wait = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(failures, 20));
        failures++;
        await pause(wait * (0.8 + Math.random() * 0.4), stopper.signal);
      }
    }
  };

  return {
    start() {
      loop ??= run();
    },
    async stop() {
      stopper.abort(new Error('informer stopped'));
      await loop;
    },
    synced: () => isSynced,
    waitForSync(signal) {
      if (isSynced) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', cancel);
          resolve();
        };
        const cancel = (): void => {
          syncWaiters.delete(wake);
          reject(new PinwardenError('PW_DEADLINE', `informer ${resource.kind}: not synced before the deadline`));
        };
        syncWaiters.add(wake);
        if (signal?.aborted) cancel();
        else signal?.addEventListener('abort', cancel, { once: true });
      });
    },
    get: (namespace, name) => cache.get(namespace ? `${namespace}/${name}` : name),
    list: () => [...cache.values()],
    resourceVersion: () => rv,
  };
}
