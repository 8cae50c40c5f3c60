/**
 * The work queue (client-go's shape): a key is processed by at most one worker at a time; a key added while
 * it is processed runs once more afterwards; a key added many times while waiting runs once. Delayed adds
 * (`addAfter`: requeue at interval, backoff) keep only the earliest due time per key. `addRateLimited` waits
 * `base · 2^failures` (capped) and `forget` resets a key's failures after a success.
 */
export interface WorkQueueOptions {
  /** First backoff (ms, default 1 000) and the cap (default 300 000). */
  backoff?: { baseMs: number; maxMs: number };
  /** Keys held at most (default 100 000); adds beyond it are dropped and counted (the next list brings them back). */
  maxKeys?: number;
  now?: () => number;
  onDepth?: (depth: number) => void;
}

export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, delayMs: number): void;
  /** Backoff for a failed key; returns the delay chosen. A `minMs` (Retry-After) raises it. */
  addRateLimited(key: string, minMs?: number): number;
  forget(key: string): void;
  failures(key: string): number;
  /** Runs `handler` on `workers` parallel loops until `stop()`. */
  run(workers: number, handler: (key: string) => Promise<void>): void;
  /** Stops taking new keys; resolves when every handler in flight has finished. */
  stop(): Promise<void>;
  /** Keys ready and waiting (not processing, not delayed). */
  depth(): number;
  /** Keys with a pending delayed add. */
  delayed(): number;
  dropped(): number;
}

export function createWorkQueue(options: WorkQueueOptions = {}): WorkQueue {
  const backoff = options.backoff ?? { baseMs: 1000, maxMs: 300_000 };
  const maxKeys = options.maxKeys ?? 100_000;
  const now = options.now ?? Date.now;
  const ready: string[] = [];
  const dirty = new Set<string>();
  const processing = new Set<string>();
  const timers = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  const failureCounts = new Map<string, number>();
  const idle: Array<() => void> = [];
  let stopped = false;
  let droppedCount = 0;
  const running = new Set<Promise<void>>();

  const report = (): void => options.onDepth?.(ready.length);

  const add = (key: string): void => {
    if (stopped || dirty.has(key)) return;
    if (dirty.size + processing.size >= maxKeys) {
      droppedCount++;
      return;
    }
    dirty.add(key);
    if (processing.has(key)) return;
    ready.push(key);
    report();
    idle.shift()?.();
  };

  const addAfter = (key: string, delayMs: number): void => {
    if (stopped) return;
    if (delayMs <= 0) {
      add(key);
      return;
    }
    const due = now() + delayMs;
    const existing = timers.get(key);
    if (existing && existing.due <= due) return;
    if (existing) clearTimeout(existing.timer);
    if (!existing && timers.size >= maxKeys) {
      droppedCount++;
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(key);
      add(key);
    }, delayMs);
    timer.unref();
    timers.set(key, { due, timer });
  };

  const next = async (): Promise<string | undefined> => {
    while (!stopped) {
      const key = ready.shift();
      if (key !== undefined) {
        report();
        return key;
      }
      await new Promise<void>((wake) => idle.push(wake));
    }
    return undefined;
  };

  const done = (key: string): void => {
    processing.delete(key);
    if (dirty.has(key)) {
      ready.push(key);
      report();
      idle.shift()?.();
    }
  };

  const worker = async (handler: (key: string) => Promise<void>): Promise<void> => {
    for (;;) {
      const key = await next();
      if (key === undefined) return;
      dirty.delete(key);
      processing.add(key);
      try {
        await handler(key);
      } catch {
        // The handler reports and requeues its own failures; a throw here must not kill the worker.
      } finally {
        done(key);
      }
    }
  };

  return {
    add,
    addAfter,
    addRateLimited(key, minMs = 0) {
      const count = failureCounts.get(key) ?? 0;
      failureCounts.set(key, count + 1);
      const delay = Math.max(minMs, Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(count, 30)));
      addAfter(key, delay);
      return delay;
    },
    forget: (key) => void failureCounts.delete(key),
    failures: (key) => failureCounts.get(key) ?? 0,
    run(workers, handler) {
      for (let index = 0; index < workers; index++) {
        const loop = worker(handler);
        running.add(loop);
        void loop.finally(() => running.delete(loop));
      }
    },
    async stop() {
      stopped = true;
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
      while (idle.length > 0) idle.shift()?.();
      await Promise.all([...running]);
    },
    depth: () => ready.length,
    delayed: () => timers.size,
    dropped: () => droppedCount,
  };
}

/** `interval` ± up to `fraction` (default 10 %), as Flux jitters its requeues. */
export function jittered(intervalMs: number, fraction = 0.1, random: () => number = Math.random): number {
  return Math.max(1, Math.round(intervalMs * (1 - fraction + 2 * fraction * random())));
}
