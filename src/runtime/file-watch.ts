/**
 * Calls `onChange` when any of `files` changes, debounced. It watches the parent directories, not the files:
 * Kubernetes updates a mounted Secret or ConfigMap by swapping a `..data` symlink, which a watch on the old
 * file never reports. A slow poll of content hashes backs up `fs.watch`, which some filesystems do not support.
 */
import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FileWatchOptions {
  debounceMs?: number;
  /** Content-hash poll period; 0 disables it (default 10 s). */
  pollMs?: number;
  onError?: (error: unknown) => void;
}

export interface FileWatch {
  close(): void;
}

export function watchFiles(files: readonly string[], onChange: () => void, options: FileWatchOptions = {}): FileWatch {
  const debounceMs = options.debounceMs ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const trigger = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const directory of new Set(files.map((file) => dirname(file)))) {
    try {
      const watcher = watch(directory, { persistent: false }, trigger);
      watcher.on('error', (error) => options.onError?.(error));
      watchers.push(watcher);
    } catch (error) {
      options.onError?.(error);
    }
  }
  const poller = startPoll(files, options.pollMs ?? 10_000, trigger);
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (poller) clearInterval(poller);
      for (const watcher of watchers) watcher.close();
    },
  };
}

function startPoll(files: readonly string[], pollMs: number, trigger: () => void): NodeJS.Timeout | undefined {
  if (pollMs <= 0) return undefined;
  let last: string | undefined;
  const check = async (): Promise<void> => {
    const hashes = await Promise.all(
      files.map((file) =>
        readFile(file).then(
          (bytes) => createHash('sha256').update(bytes).digest('hex'),
          () => 'missing',
        ),
      ),
    );
    const current = hashes.join(',');
    if (last !== undefined && current !== last) trigger();
    last = current;
  };
  void check();
  const timer = setInterval(() => void check(), pollMs);
  timer.unref();
  return timer;
}
