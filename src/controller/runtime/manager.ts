/**
 * The controller manager: informers per kind (cluster-wide or per listed namespace, optional label selector),
 * one work queue (keys `Kind/namespace/name`, one worker per key at a time, N workers), leader election
 * (informers run on every replica so a successor is warm; only the leader's workers reconcile), and a
 * graceful stop (no new key, the step in flight finishes, the Lease is released).
 *
 * Which events enqueue: a new object, a deleted one, a MODIFIED one whose generation, deletionTimestamp or
 * `reconcile.fluxcd.io/requestedAt` annotation changed (Flux's predicates; status-only updates, including
 * ours, do not), and — through `sourceOf` — every object that uses a source whose artifact revision changed.
 */
import { PinwardenError, toPinwardenError } from '../../core/errors.ts';
import { createInformer, createLeaderElector, objectKey, splitKey } from '../../kube/index.ts';
import type {
  Informer,
  InformerEvent,
  KubeApi,
  KubeObject,
  LeaderElector,
  LeaseSettings,
  ResourceType,
} from '../../kube/index.ts';
import type { ControllerMetrics } from './metrics.ts';
import { createWorkQueue } from './queue.ts';
import type { WorkQueue } from './queue.ts';

export interface ControllerLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

export interface ReconcileRequest {
  object: KubeObject;
  /** Deadline and shutdown (the step in flight finishes, no further step starts). */
  signal: AbortSignal;
  stopping: AbortSignal;
  /** The cached objects of a watched kind (e.g. whether another object still uses a stored artifact). */
  list?: (kind: string) => KubeObject[];
}

export type ReconcileAnswer = {
  result: 'success' | 'failure' | 'stalled' | 'interrupted';
  requeue: { afterMs: number } | { rateLimited: true; minMs: number } | { never: true };
  error?: PinwardenError;
};

export interface SourceRef {
  kind: string;
  namespace: string;
  name: string;
}

export interface KindController {
  resource: ResourceType;
  reconcile(request: ReconcileRequest): Promise<ReconcileAnswer>;
  /** The object was deleted (the informer saw it go); runs on every replica, for local cleanup only. */
  deleted?(object: KubeObject, context: { list: (kind: string) => KubeObject[] }): Promise<void> | void;
  /** The source this object consumes: it is requeued at once when that source's artifact revision changes. */
  sourceOf?(object: KubeObject): SourceRef | undefined;
  /** Deadline of one reconcile in ms (default 5 minutes; reconcilers narrow it with spec.timeout). */
  deadlineMs?(object: KubeObject): number;
}

/** What to watch, how many workers, leader election and retry tempo: `startController` takes the same settings. */
export interface ManagerSettings {
  /** Namespaces to watch; empty or undefined = cluster-wide. */
  namespaces?: string[];
  labelSelector?: string;
  workers?: number;
  /** Undefined: no election, this process reconciles (single replica, tests). */
  leaderElection?: LeaseSettings;
  backoff?: { baseMs: number; maxMs: number };
  /** Informer tuning (tests). */
  watchTimeoutSeconds?: number;
  /** Called when leadership is lost (the process should exit and restart, as client-go's callers do). */
  onLostLeadership?: () => void;
}

export interface ManagerOptions extends ManagerSettings {
  api: KubeApi;
  controllers: KindController[];
  metrics?: ControllerMetrics;
  logger?: ControllerLogger;
}

export interface ControllerManager {
  start(): void;
  /** Every informer listed once. */
  synced(): boolean;
  waitForSync(signal?: AbortSignal): Promise<void>;
  isLeader(): boolean;
  /** Reconcile this object soon (e.g. after an external trigger). */
  enqueue(kind: string, namespace: string | undefined, name: string): void;
  /** Reconcile every cached object soon (the policy changed: a denial may be lifted, or a new one apply). */
  requeueAll(): void;
  /** The cached object. */
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(kind: string): KubeObject[];
  /** Graceful stop: no new reconcile, in-flight steps finish (up to `graceMs`), the Lease is released. */
  stop(graceMs?: number): Promise<void>;
  queue: WorkQueue;
}

/** The abort reason of a reconcile whose object the informer saw go. */
const OBJECT_DELETED = new PinwardenError('PW_DEADLINE', 'the object was deleted');

const NOOP_LOGGER: ControllerLogger = { info() {}, warn() {}, error() {}, debug() {} };
const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

export function createControllerManager(options: ManagerOptions): ControllerManager {
  const logger = options.logger ?? NOOP_LOGGER;
  const metrics = options.metrics;
  const byKind = new Map(options.controllers.map((controller) => [controller.resource.kind, controller]));
  const informers = new Map<string, Informer[]>();
  const stopping = new AbortController();
  const inFlight = new Map<string, AbortController>();
  const queue = createWorkQueue({
    ...(options.backoff ? { backoff: options.backoff } : {}),
    onDepth: (depth) => metrics?.setQueueDepth(depth),
  });
  const namespaces = options.namespaces && options.namespaces.length > 0 ? options.namespaces : [undefined];
  let leader: LeaderElector | undefined;
  let leading = options.leaderElection === undefined;
  let workersStarted = false;

  const keyOf = (kind: string, object: KubeObject): string => `${kind}/${objectKey(object)}`;

  const objectOf = (kind: string, namespace: string | undefined, name: string): KubeObject | undefined => {
    for (const informer of informers.get(kind) ?? []) {
      const found = informer.get(namespace, name);
      if (found) return found;
    }
    return undefined;
  };

  const listOf = (kind: string): KubeObject[] => (informers.get(kind) ?? []).flatMap((informer) => informer.list());

  const enqueueUsersOf = (source: KubeObject, kind: string): void => {
    for (const controller of options.controllers) {
      if (!controller.sourceOf) continue;
      for (const informer of informers.get(controller.resource.kind) ?? []) {
        for (const candidate of informer.list()) {
          const ref = controller.sourceOf(candidate);
          if (
            ref &&
            ref.kind === kind &&
            ref.name === source.metadata.name &&
            ref.namespace === (source.metadata.namespace ?? '')
          ) {
            queue.add(keyOf(controller.resource.kind, candidate));
          }
        }
      }
    }
  };

  const onEvent =
    (kind: string) =>
    (event: InformerEvent): void => {
      const controller = byKind.get(kind)!;
      const key = keyOf(kind, event.object);
      if (event.type === 'DELETED') {
        inFlight.get(key)?.abort(OBJECT_DELETED);
        void Promise.resolve(controller.deleted?.(event.object, { list: listOf })).catch((error: unknown) =>
          logger.warn({ kind, key, err: toPinwardenError(error).message }, 'cleanup after delete failed'),
        );
        return;
      }
      if (event.type === 'ADDED' || wantsReconcile(event)) queue.add(key);
      if (
        event.previous &&
        artifactRevision(event.previous) !== artifactRevision(event.object) &&
        artifactRevision(event.object) !== undefined
      )
        enqueueUsersOf(event.object, kind);
    };

  const handle = async (key: string): Promise<void> => {
    if (!leading || stopping.signal.aborted) return;
    const slash = key.indexOf('/');
    const kind = key.slice(0, slash);
    const { namespace, name } = splitKey(key.slice(slash + 1));
    const controller = byKind.get(kind);
    const object = controller && objectOf(kind, namespace, name);
    if (!controller || !object) {
      queue.forget(key);
      return;
    }
    const deadline = controller.deadlineMs?.(object) ?? 300_000;
    const abort = new AbortController();
    inFlight.set(key, abort);
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(deadline)]);
    const started = performance.now();
    let answer: ReconcileAnswer;
    try {
      answer = await controller.reconcile({ object, signal, stopping: stopping.signal, list: listOf });
    } catch (error) {
      answer = { result: 'failure', requeue: { rateLimited: true, minMs: 0 }, error: toPinwardenError(error) };
    } finally {
      inFlight.delete(key);
    }
    // The object went while it was reconciled (e.g. its finalizer was just removed): nothing is left to do.
    if (abort.signal.reason === OBJECT_DELETED) {
      logger.debug({ kind, key }, 'deleted while reconciled');
      queue.forget(key);
      return;
    }
    metrics?.observeReconcile(kind, answer.result, (performance.now() - started) / 1000);
    if (answer.error)
      logger.warn({ kind, key, code: answer.error.code, err: answer.error.message }, 'reconcile failed');
    else logger.debug({ kind, key, result: answer.result }, 'reconciled');
    if (answer.result === 'interrupted') return;
    const requeue = answer.requeue;
    if ('never' in requeue) {
      queue.forget(key);
    } else if ('rateLimited' in requeue) {
      queue.addRateLimited(key, requeue.minMs);
    } else {
      queue.forget(key);
      queue.addAfter(key, requeue.afterMs);
    }
  };

  const startWorkers = (): void => {
    if (workersStarted) return;
    workersStarted = true;
    queue.run(options.workers ?? 4, handle);
  };

  const enqueueAll = (): void => {
    for (const [kind, list] of informers)
      for (const informer of list) for (const object of informer.list()) queue.add(keyOf(kind, object));
  };

  return {
    queue,
    start() {
      for (const controller of options.controllers) {
        const kind = controller.resource.kind;
        const list = namespaces.map((namespace) =>
          createInformer({
            api: options.api,
            resource: controller.resource,
            ...(namespace !== undefined ? { namespace } : {}),
            ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
            ...(options.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: options.watchTimeoutSeconds } : {}),
            onEvent: onEvent(kind),
            onError: (error) =>
              logger.warn({ kind, namespace, code: error.code, err: error.message }, 'watch failed; retrying'),
          }),
        );
        informers.set(kind, list);
        for (const informer of list) informer.start();
        void Promise.all(list.map((informer) => informer.waitForSync(stopping.signal))).then(
          () => metrics?.setSynced(kind, true),
          () => undefined,
        );
      }
      if (options.leaderElection) {
        const election = options.leaderElection;
        leader = createLeaderElector({
          api: options.api,
          ...election,
          onStartedLeading: () => {
            leading = true;
            metrics?.setLeader(true);
            logger.info(
              { identity: election.identity, lease: `${election.namespace}/${election.name}` },
              'became leader',
            );
            enqueueAll();
            startWorkers();
          },
          onStoppedLeading: () => {
            leading = false;
            metrics?.setLeader(false);
            logger.warn({ identity: election.identity }, 'lost leadership');
            options.onLostLeadership?.();
          },
          onError: (error) => logger.warn({ code: error.code, err: error.message }, 'leader election'),
        });
        leader.start();
      } else {
        metrics?.setLeader(true);
        startWorkers();
      }
    },
    synced: () =>
      [...informers.values()].every((list) => list.every((informer) => informer.synced())) &&
      informers.size === options.controllers.length,
    async waitForSync(signal) {
      await Promise.all([...informers.values()].flat().map((informer) => informer.waitForSync(signal)));
    },
    isLeader: () => leading,
    enqueue: (kind, namespace, name) => queue.add(`${kind}/${namespace ? `${namespace}/${name}` : name}`),
    requeueAll: () => enqueueAll(),
    get: objectOf,
    list: listOf,
    async stop(graceMs = 30_000) {
      stopping.abort(new PinwardenError('PW_DEADLINE', 'the controller is stopping'));
      const drained = queue.stop();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([drained, grace]);
      for (const abort of inFlight.values()) abort.abort(new PinwardenError('PW_DEADLINE', 'the controller stopped'));
      await leader?.stop();
      metrics?.setLeader(false);
      await Promise.all([...informers.values()].flat().map((informer) => informer.stop()));
    },
  };
}

function wantsReconcile(event: InformerEvent): boolean {
  const previous = event.previous;
  if (!previous) return true;
  const before = previous.metadata;
  const after = event.object.metadata;
  return (
    before.generation !== after.generation ||
    before.deletionTimestamp !== after.deletionTimestamp ||
    before.annotations?.[REQUESTED_AT] !== after.annotations?.[REQUESTED_AT] ||
    before.uid !== after.uid
  );
}

function artifactRevision(object: KubeObject): string | undefined {
  const artifact = (object.status as { artifact?: { revision?: unknown; digest?: unknown } } | undefined)?.artifact;
  const revision = artifact?.revision;
  return typeof revision === 'string'
    ? `${revision}|${typeof artifact?.digest === 'string' ? artifact.digest : ''}`
    : undefined;
}
