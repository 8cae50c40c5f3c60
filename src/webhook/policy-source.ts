/**
 * The policy the webhook answers with: the built-in secure defaults, or `--config FILE` reloaded when the
 * file changes. An invalid new document is logged (its PW_POLICY_INVALID message names the field) and the
 * previous policy stays in force. Each successful load bumps `metadata.generation` (cache keys use it).
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { PinwardenError, toPinwardenError } from '../core/errors.ts';
import { defaultPolicy, loadPolicy } from '../core/policy/index.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import type { PolicySource } from './deps.ts';
import { watchFiles } from './file-watch.ts';
import type { FileWatchOptions } from './file-watch.ts';

export interface ReloadingPolicySource extends PolicySource {
  generation(): number;
  close(): void;
}

export interface PolicyFileOptions extends FileWatchOptions {
  logger: Logger;
  onReload?: (outcome: 'ok' | 'error') => void;
}

/** Loads `file` (throws PW_POLICY_INVALID / PW_INPUT_INVALID at startup) and keeps it fresh. */
export async function policyFromFile(file: string | undefined, options: PolicyFileOptions): Promise<ReloadingPolicySource> {
  let generation = 1;
  let policy = withGeneration(file === undefined ? defaultPolicy() : await readPolicy(file), generation);
  if (file === undefined) return { current: () => policy, generation: () => generation, close: () => undefined };
  let lastText = await readFile(file, 'utf8').catch(() => '');
  const reload = async (): Promise<void> => {
    try {
      const text = await readFile(file, 'utf8');
      if (text === lastText) return;
      const next = loadPolicy(text, file);
      lastText = text;
      generation += 1;
      policy = withGeneration(next, generation);
      options.logger.info({ file, generation, policy: next.metadata.name }, 'policy reloaded');
      options.onReload?.('ok');
    } catch (error) {
      const failure = toPinwardenError(error, 'PW_POLICY_INVALID');
      options.logger.error({ file, code: failure.code }, `policy not reloaded, keeping generation ${generation}: ${failure.message}`);
      options.onReload?.('error');
    }
  };
  const watch = watchFiles([file], () => void reload(), options);
  return { current: () => policy, generation: () => generation, close: () => watch.close() };
}

async function readPolicy(file: string): Promise<SourcePolicy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PinwardenError('PW_INPUT_INVALID', `--config ${file}: ${code === 'ENOENT' ? 'no such file' : 'unreadable'}`);
  }
  return loadPolicy(text, file);
}

function withGeneration(policy: SourcePolicy, generation: number): SourcePolicy {
  return { ...policy, metadata: { ...policy.metadata, generation } };
}
