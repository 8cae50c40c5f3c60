/** Reading a file the user named: a missing, unreadable or oversized one is a PW_INPUT_INVALID naming the flag, never a stack trace. */
import { readFile, stat } from 'node:fs/promises';
import { PinwardenError } from '../core/errors.ts';

/** `label` names where the path came from (`--config policy.yaml`), for the message. */
export async function readInputFile(path: string, label: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
  try {
    if (options.maxBytes !== undefined && (await stat(path)).size > options.maxBytes) {
      throw new PinwardenError('PW_INPUT_INVALID', `${label}: larger than ${formatBytes(options.maxBytes)}`);
    }
    return await readFile(path);
  } catch (error) {
    if (error instanceof PinwardenError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : 'unreadable';
    throw new PinwardenError('PW_INPUT_INVALID', `${label}: ${why}`, { cause: error });
  }
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`;
}
