/**
 * `fetchAll`: a small blob (a signature payload, a bundle, a config) collected whole from `Repository.fetch`.
 * The cap is checked against the descriptor before any request, and the stream never passes more than the
 * descriptor's size, so at most `maxBytes` are ever held. Large content (artifact layers) is streamed instead.
 */
import { PinwardenError } from '../core/errors.ts';
import type { Call, Descriptor, Repository } from './types.ts';
import { collectStream } from './verified-stream.ts';

/** The default cap of `fetchAll`: the manifest cap (4 MiB), far above any signature or config. */
export const DEFAULT_FETCH_ALL_BYTES = 4 * 1024 * 1024;

export async function fetchAll(
  repository: Repository,
  descriptor: Descriptor,
  call: Call,
  maxBytes: number = DEFAULT_FETCH_ALL_BYTES,
): Promise<Uint8Array> {
  checkBlobSize(descriptor, maxBytes);
  const stream = await repository.fetch(descriptor, call, { maxBytes });
  return collectStream(
    stream,
    descriptor.size,
    (error) =>
      new PinwardenError('PW_REGISTRY_UNREACHABLE', `blob ${descriptor.digest}: reading failed`, { cause: error }),
  );
}

/** A blob's descriptor size must be a byte count within `maxBytes`: checked before a byte is requested. */
export function checkBlobSize(descriptor: Descriptor, maxBytes: number): void {
  if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0) {
    throw new PinwardenError(
      'PW_REGISTRY_PROTOCOL',
      `blob ${descriptor.digest}: the descriptor's size is not a byte count`,
    );
  }
  if (descriptor.size > maxBytes) {
    throw new PinwardenError(
      'PW_TOO_LARGE',
      `blob ${descriptor.digest} is ${descriptor.size} bytes, over the ${maxBytes}-byte cap`,
      { details: { size: descriptor.size, cap: maxBytes } },
    );
  }
}
