/** Reading a file the user named: a missing or unreadable one is a PW_INPUT_INVALID naming the flag, never a stack trace. */
import { readFile } from 'node:fs/promises';
import { PinwardenError } from '../core/errors.ts';

/** `label` names where the path came from (`--config policy.yaml`), for the message. */
export async function readInputFile(path: string, label: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : 'unreadable';
    throw new PinwardenError('PW_INPUT_INVALID', `${label}: ${why}`, { cause: error });
  }
}
