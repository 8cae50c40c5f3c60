/**
 * Content addressed by a descriptor, as a stream that cannot end cleanly unless it was exactly the descriptor:
 * every chunk is counted (one byte past `size` fails at once) and hashed as it passes, and the size and sha256
 * are compared before the stream's end is signalled, so a consumer (gunzip, tar, a file) sees an error instead
 * of `end` for short, long or altered content (ORAS `content.VerifyReader`, as a Transform).
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { PinwardenError } from '../core/errors.ts';
import type { Descriptor } from './types.ts';

export interface StreamContext {
  /** `GET https://host/v2/…` (already redacted) or `blob sha256:…`, for messages. */
  what: string;
  signal: AbortSignal;
}

/**
 * `source` passed through size and digest checks. Errors of `source` become catalogue errors (`mapError`);
 * destroying the returned stream destroys `source` (the socket goes back or is closed).
 */
export function verifiedStream(
  source: Readable,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  context: StreamContext,
  mapError: (error: unknown) => PinwardenError,
): Readable {
  const hash = createHash('sha256');
  let total = 0;
  const checked = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.byteLength;
      if (total > descriptor.size) {
        done(mismatch(`${context.what}: more than the expected ${descriptor.size} bytes`));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      if (total !== descriptor.size) {
        done(mismatch(`${context.what}: got ${total} bytes, expected ${descriptor.size}`));
        return;
      }
      const actual = `sha256:${hash.digest('hex')}`;
      done(
        actual === descriptor.digest
          ? null
          : mismatch(`${context.what}: content digest ${actual} does not match ${descriptor.digest}`),
      );
    },
  });
  const onSourceError = (error: unknown): void => {
    checked.destroy(error instanceof PinwardenError ? error : mapError(error));
  };
  source.on('error', onSourceError);
  // A body that stops without an error (connection closed early) ends the pipe: flush reports the short count.
  checked.once('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  const onAbort = (): void => {
    checked.destroy(mapError(context.signal.reason));
  };
  if (context.signal.aborted) queueMicrotask(onAbort);
  else context.signal.addEventListener('abort', onAbort, { once: true });
  checked.once('close', () => context.signal.removeEventListener('abort', onAbort));
  // A small body can be checked to its end before the consumer attaches: the error is then kept on the stream
  // (`errored`; pipeline and async iteration report it) instead of being thrown with no listener yet.
  checked.on('error', () => undefined);
  source.pipe(checked);
  return checked;
}

/** The whole stream in memory, for content already bounded by its descriptor (manifests, signatures, configs). */
export async function collectStream(
  stream: Readable,
  size: number,
  mapError: (error: unknown) => PinwardenError,
): Promise<Uint8Array> {
  const bytes = new Uint8Array(size);
  let offset = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      // verifiedStream never passes more than `size` bytes; the check keeps the copy safe on its own.
      if (offset + chunk.byteLength > size) throw mismatch(`more than the expected ${size} bytes`);
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
  } catch (error) {
    throw error instanceof PinwardenError ? error : mapError(error);
  }
  return bytes;
}

function mismatch(message: string): PinwardenError {
  return new PinwardenError('PW_DIGEST_MISMATCH', message);
}
