/**
 * Socket-free doubles for unit tests of the OCI client: a scripted Transport (answers from a function,
 * every request recorded) and a manual clock whose sleeps advance time instantly and are recorded.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { Clock } from '../../src/oci/retry.ts';
import type { Transport, TransportRequest, TransportResponse } from '../../src/oci/transport.ts';

export interface ScriptedAnswer {
  status: number;
  headers?: IncomingHttpHeaders;
  body?: string | Uint8Array;
}

export interface FakeTransport extends Transport {
  requests: TransportRequest[];
}

export function fakeTransport(
  answer: (request: TransportRequest, index: number) => ScriptedAnswer | Error,
): FakeTransport {
  const requests: TransportRequest[] = [];
  return {
    requests,
    send(request) {
      const index = requests.push(request) - 1;
      const scripted = answer(request, index);
      if (scripted instanceof Error) return Promise.reject(scripted);
      return Promise.resolve(toResponse(scripted));
    },
    close() {},
  };
}

export function toResponse(answer: ScriptedAnswer): TransportResponse {
  const body = answer.body === undefined ? Buffer.alloc(0) : Buffer.from(answer.body);
  const stream = Readable.from(body.length > 0 ? [body] : []) as unknown as IncomingMessage;
  return { status: answer.status, headers: { 'content-length': String(body.length), ...answer.headers }, body: stream };
}

export interface ManualClock extends Clock {
  sleeps: number[];
  advance(ms: number): void;
}

export function manualClock(start = 1_000_000, random = 0.5): ManualClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    random: () => random,
    advance: (ms) => {
      now += ms;
    },
    sleep: (ms, signal) => {
      signal.throwIfAborted();
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

/** A call that never aborts on its own, with an explicit deadline on the manual clock. */
export function callUntil(deadline?: number): { signal: AbortSignal; deadline?: number } {
  return { signal: new AbortController().signal, ...(deadline !== undefined ? { deadline } : {}) };
}
