/**
 * Reading response bodies without trusting them: never buffer more than the cap (checked against
 * Content-Length first, then while streaming), and for content addressed by a descriptor, stop at the
 * expected size and compare the sha256 computed while reading (ORAS `content.VerifyReader`).
 */
import { createHash } from 'node:crypto';
import { PinwardenError } from '../core/errors.ts';
import { deadlineError } from './retry.ts';
import { discard } from './transport.ts';
import type { TransportResponse } from './transport.ts';
import type { Descriptor } from './types.ts';

export interface ReadContext {
  /** `GET https://host/v2/…` (already redacted), for messages. */
  what: string;
  signal: AbortSignal;
}

/** The whole body, refused with PW_TOO_LARGE as soon as it would pass `cap` bytes. */
export async function readCapped(response: TransportResponse, cap: number, context: ReadContext): Promise<Uint8Array> {
  const declared = declaredLength(response);
  if (declared !== undefined && declared > cap) {
    discard(response);
    throw tooLarge(context, declared, cap);
  }
  return collect(response, context, (total) => (total > cap ? tooLarge(context, total, cap) : undefined));
}

/** The body of `descriptor`: exactly its size and sha256, and at most `cap` bytes buffered. */
export async function readVerified(response: TransportResponse, descriptor: Pick<Descriptor, 'digest' | 'size'>, cap: number, context: ReadContext): Promise<Uint8Array> {
  if (descriptor.size > cap) {
    discard(response);
    throw tooLarge(context, descriptor.size, cap);
  }
  const declared = declaredLength(response);
  if (declared !== undefined && declared !== descriptor.size) {
    discard(response);
    throw mismatch(`${context.what}: Content-Length ${declared} does not match the expected size ${descriptor.size}`);
  }
  const hash = createHash('sha256');
  const bytes = await collect(
    response,
    context,
    (total) => (total > descriptor.size ? mismatch(`${context.what}: more than the expected ${descriptor.size} bytes`) : undefined),
    (chunk) => hash.update(chunk),
  );
  if (bytes.byteLength !== descriptor.size) {
    throw mismatch(`${context.what}: got ${bytes.byteLength} bytes, expected ${descriptor.size}`);
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== descriptor.digest) throw mismatch(`${context.what}: content digest ${actual} does not match ${descriptor.digest}`);
  return bytes;
}

async function collect(
  response: TransportResponse,
  context: ReadContext,
  overLimit: (total: number) => PinwardenError | undefined,
  onChunk?: (chunk: Buffer) => void,
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      const refusal = overLimit(total);
      if (refusal) {
        response.body.destroy();
        throw refusal;
      }
      onChunk?.(chunk);
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof PinwardenError) throw error;
    if (context.signal.aborted) throw deadlineError(context.what, context.signal);
    throw new PinwardenError('PW_REGISTRY_UNREACHABLE', `${context.what}: the connection failed while reading the body`, { cause: error });
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}

function declaredLength(response: TransportResponse): number | undefined {
  const header = response.headers['content-length'];
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

function tooLarge(context: ReadContext, size: number, cap: number): PinwardenError {
  return new PinwardenError('PW_TOO_LARGE', `${context.what}: ${size} bytes is over the ${cap}-byte cap`, { details: { size, cap } });
}

function mismatch(message: string): PinwardenError {
  return new PinwardenError('PW_DIGEST_MISMATCH', message);
}
