/** Waiting in tests for something another process does (an apiserver, a controller, a registry) by polling. */

export interface PollOptions {
  /** How long before giving up (default 30 s). */
  timeoutMs?: number;
  /** Pause between two probes (default 100 ms). */
  intervalMs?: number;
  /** A probe that throws counts as "not yet" (the object not created yet, a process restarting), not as a failure. */
  ignoreErrors?: boolean;
  /** More to say on timeout, e.g. the controller's last log lines. */
  detail?: () => string;
}

/**
 * Probes until `probe` gives a value other than undefined or false, and returns that value; after `timeoutMs`
 * throws `timed out waiting for <what>`.
 */
export async function poll<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: PollOptions = {},
): Promise<T> {
  const end = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const value = options.ignoreErrors
      ? await Promise.resolve()
          .then(probe)
          .catch(() => undefined)
      : await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${options.detail === undefined ? '' : `\n${options.detail()}`}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}
