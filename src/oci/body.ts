/**
 * Reading response bodies without trusting them: never buffer more than the cap (checked against
 * Content-Length first, then while streaming). Content addressed by a descriptor streams through
 * `verified-stream.ts` instead.
 */
import { PinwardenError } from '../core/errors.ts';
import { deadlineError } from './retry.ts';
import { discard } from './transport.ts';
import type { TransportResponse } from './transport.ts';

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

async function collect(
  response: TransportResponse,
  context: ReadContext,
  overLimit: (total: number) => PinwardenError | undefined,
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
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof PinwardenError) throw error;
    if (context.signal.aborted) throw deadlineError(context.what, context.signal);
    throw new PinwardenError(
      'PW_REGISTRY_UNREACHABLE',
      `${context.what}: the connection failed while reading the body`,
      { cause: error },
    );
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}

function declaredLength(response: TransportResponse): number | undefined {
  const header = response.headers['content-length'];
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

function tooLarge(context: ReadContext, size: number, cap: number): PinwardenError {
  return new PinwardenError('PW_TOO_LARGE', `${context.what}: ${size} bytes is over the ${cap}-byte cap`, {
    details: { size, cap },
  });
}
