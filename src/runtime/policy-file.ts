/**
 * The one policy loader of the process: `readPolicy` (used by `check`, `serve` and the controller) and
 * `policyFromFile`, the policy a long-running process answers with: the built-in secure defaults, or
 * `--config FILE` reloaded when the file changes. An invalid new document is logged (its PW_POLICY_INVALID
 * message names the field) and the previous policy stays in force. Each successful load bumps
 * `metadata.generation` (cache keys use it).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { toPinwardenError } from '../core/errors.ts';
import type { PinwardenError } from '../core/errors.ts';
import type { ExceptionSet } from '../core/exceptions/index.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import { watchFiles } from './file-watch.ts';
import type { FileWatchOptions } from './file-watch.ts';
import { readInputFile } from './read-file.ts';

/** Where a process reads its policy from: a fixed document, or a file kept fresh. */
export interface PolicySource {
  current(): SourcePolicy;
  /** SourcePolicyExceptions in force now (the cluster's), judged by the clock of this call; absent: none. */
  exceptions?(): ExceptionSet | undefined;
}

export interface ReloadingPolicySource extends PolicySource {
  generation(): number;
  close(): void;
  /**
   * Calls `listener` after every policy that replaced the one in force (a file edit, a SourcePolicy change);
   * never for a refused one. Returns the unsubscribe. The controller requeues every object with it.
   */
  onChange(listener: () => void): () => void;
}

export interface PolicyFileOptions extends FileWatchOptions {
  logger: Logger;
  onReload?: (outcome: 'ok' | 'error') => void;
}

/**
 * `file` (relative to `cwd` when given) loaded as a SourcePolicy; undefined: the built-in defaults. A missing
 * or unreadable file is PW_INPUT_INVALID naming `--config`; a bad document PW_POLICY_INVALID naming the field
 * (messages use `file` as given).
 */
export async function readPolicy(file: string | undefined, cwd?: string): Promise<SourcePolicy> {
  const { defaultPolicy, loadPolicy } = await policyLoader();
  if (file === undefined) return defaultPolicy();
  const bytes = await readInputFile(cwd === undefined ? file : resolve(cwd, file), `--config ${file}`);
  return loadPolicy(bytes.toString('utf8'), file);
}

/**
 * The policy loader (ajv, yaml, the schema), imported on first use: this room's index is imported by every
 * command, and `pull`, `verify`, `push` and `resolve` never read a policy (BENCHMARKS.md, `pinwarden pull`).
 */
const policyLoader = () => import('../core/policy/index.ts');

export function staticPolicy(policy: SourcePolicy): PolicySource {
  return { current: () => policy };
}

/** Loads `file` (throws PW_POLICY_INVALID / PW_INPUT_INVALID at startup) and keeps it fresh. */
export async function policyFromFile(
  file: string | undefined,
  options: PolicyFileOptions,
): Promise<ReloadingPolicySource> {
  const holder = createPolicyHolder(await readPolicy(file), options);
  if (file === undefined) return holder;
  let lastText = await readFile(file, 'utf8').catch(() => '');
  const reload = async (): Promise<void> => {
    try {
      const { loadPolicy } = await policyLoader();
      const text = await readFile(file, 'utf8');
      if (text === lastText) return;
      const next = loadPolicy(text, file);
      lastText = text;
      holder.replace(next, { file });
    } catch (error) {
      holder.refuse(toPinwardenError(error, 'PW_POLICY_INVALID'), { file });
    }
  };
  const watch = watchFiles([file], () => void reload(), options);
  return { ...holder, close: () => watch.close() };
}

/**
 * The policy in force and its generation, for every source of policy (the file above, the cluster's
 * SourcePolicy objects in `kube/cluster-policy.ts`): a replacement bumps `metadata.generation` (cache keys use
 * it) and is logged; a refused one is logged and counted, and the policy in force stays.
 */
export interface PolicyHolder extends ReloadingPolicySource {
  replace(next: SourcePolicy, context: Record<string, unknown>): void;
  refuse(error: PinwardenError, context: Record<string, unknown>): void;
}

export function createPolicyHolder(
  initial: SourcePolicy,
  options: Pick<PolicyFileOptions, 'logger' | 'onReload'>,
): PolicyHolder {
  let generation = 1;
  let policy = withGeneration(initial, generation);
  const listeners = new Set<() => void>();
  return {
    current: () => policy,
    generation: () => generation,
    close: () => undefined,
    onChange(listener) {
      // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
      const entry = (): void => listener();
      listeners.add(entry);
      return () => void listeners.delete(entry);
    },
    replace(next, context) {
      generation += 1;
      policy = withGeneration(next, generation);
      options.logger.info({ ...context, generation, policy: next.metadata.name }, 'policy reloaded');
      options.onReload?.('ok');
      for (const listener of [...listeners]) {
        try {
          listener();
        } catch (error) {
          // A listener's failure never undoes the reload nor stops the other listeners.
          options.logger.error({ ...context, err: (error as Error).message }, 'policy change listener failed');
        }
      }
    },
    refuse(error, context) {
      options.logger.error(
        { ...context, code: error.code },
        `policy not reloaded, keeping generation ${generation}: ${error.message}`,
      );
      options.onReload?.('error');
    },
  };
}

function withGeneration(policy: SourcePolicy, generation: number): SourcePolicy {
  return { ...policy, metadata: { ...policy.metadata, generation } };
}
