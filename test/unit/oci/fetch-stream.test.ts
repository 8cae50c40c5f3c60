import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { PinwardenError } from '../../../src/core/errors.ts';
import {
  HttpRepository,
  MemoryRepository,
  createRegistryConnections,
  createTokenCache,
  fetchAll,
} from '../../../src/oci/index.ts';
import type { Descriptor, Digest } from '../../../src/oci/index.ts';
import type { Transport, TransportResponse } from '../../../src/oci/transport.ts';
import { callUntil, fakeTransport, manualClock } from '../../helpers/fake-transport.ts';
import { closeServer } from '../../helpers/close-server.ts';

const CONTENT = Buffer.from('layer bytes, exactly as pushed\n'.repeat(100));
const DESCRIPTOR: Descriptor = {
  mediaType: 'application/octet-stream',
  digest: digestOf(CONTENT),
  size: CONTENT.byteLength,
};

function digestOf(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function hasCode(code: string, message?: RegExp) {
  return (error: unknown): boolean =>
    error instanceof PinwardenError && error.code === code && (message === undefined || message.test(error.message));
}

/** A transport answering the blob GET with `body` (a stream the test controls) and `length` as Content-Length. */
function streamingTransport(body: Readable, length?: number): Transport & { sent: number } {
  const transport = {
    sent: 0,
    send(): Promise<TransportResponse> {
      transport.sent++;
      return Promise.resolve({
        status: 200,
        headers: length === undefined ? {} : { 'content-length': String(length) },
        body: body as unknown as IncomingMessage,
      });
    },
    close() {},
  };
  return transport;
}

function repositoryOver(transport: Transport): HttpRepository {
  return new HttpRepository(
    { registry: 'r.example', host: 'r.example', path: 'acme/app' },
    { transport, clock: manualClock(), tokenCache: createTokenCache(), retry: { maxAttempts: 1 } },
  );
}

/** Reads a stream to its end; resolves with what came out and how it ended. */
async function drain(stream: Readable): Promise<{ bytes: Buffer; ended: boolean; error?: unknown }> {
  const chunks: Buffer[] = [];
  let ended = false;
  stream.on('end', () => {
    ended = true;
  });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return { bytes: Buffer.concat(chunks), ended };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), ended, error };
  }
}

test('fetch streams a blob that matches its descriptor to a clean end', async () => {
  const repository = repositoryOver(
    streamingTransport(Readable.from([CONTENT.subarray(0, 1000), CONTENT.subarray(1000)]), CONTENT.byteLength),
  );
  const result = await drain(await repository.fetch(DESCRIPTOR, callUntil()));
  assert.equal(result.error, undefined);
  assert.equal(result.ended, true);
  assert.deepEqual(result.bytes, CONTENT);
});

test('fetch: altered bytes of the right length fail with PW_DIGEST_MISMATCH instead of ending', async () => {
  const altered = Buffer.from(CONTENT);
  altered[altered.length - 1] = 0x41;
  const repository = repositoryOver(streamingTransport(Readable.from([altered]), altered.byteLength));
  const result = await drain(await repository.fetch(DESCRIPTOR, callUntil()));
  assert.equal(result.ended, false);
  assert.ok(
    hasCode('PW_DIGEST_MISMATCH', /content digest sha256:[0-9a-f]{64} does not match/)(result.error),
    String(result.error),
  );
});

test('fetch: a body that stops short fails before the end is signalled', async () => {
  const repository = repositoryOver(streamingTransport(Readable.from([CONTENT.subarray(0, 100)])));
  const result = await drain(await repository.fetch(DESCRIPTOR, callUntil()));
  assert.equal(result.ended, false);
  assert.ok(
    hasCode('PW_DIGEST_MISMATCH', new RegExp(`got 100 bytes, expected ${CONTENT.byteLength}`))(result.error),
    String(result.error),
  );
});

test('fetch: one byte past the size fails at once, and the source is destroyed rather than read on', async () => {
  const source = new PassThrough();
  const repository = repositoryOver(streamingTransport(source));
  const stream = await repository.fetch(DESCRIPTOR, callUntil());
  const drained = drain(stream);
  source.write(CONTENT);
  source.write(Buffer.from('x'));
  const result = await drained;
  assert.ok(hasCode('PW_DIGEST_MISMATCH', /more than the expected/)(result.error), String(result.error));
  assert.equal(source.destroyed, true);
});

test('fetch: a connection reset mid-body is PW_REGISTRY_UNREACHABLE, not an end', async () => {
  const source = new PassThrough();
  const repository = repositoryOver(streamingTransport(source));
  const stream = await repository.fetch(DESCRIPTOR, callUntil());
  const drained = drain(stream);
  source.write(CONTENT.subarray(0, 10));
  source.destroy(Object.assign(new Error('socket hang up ?token=s3cr3t'), { code: 'ECONNRESET' }));
  const result = await drained;
  assert.ok(
    hasCode('PW_REGISTRY_UNREACHABLE', /connection failed while reading the body/)(result.error),
    String(result.error),
  );
  assert.doesNotMatch((result.error as Error).message, /s3cr3t/);
});

test('fetch: the deadline firing mid-body is PW_DEADLINE', async () => {
  const source = new PassThrough();
  const repository = repositoryOver(streamingTransport(source));
  const controller = new AbortController();
  const stream = await repository.fetch(DESCRIPTOR, { signal: controller.signal });
  const drained = drain(stream);
  source.write(CONTENT.subarray(0, 10));
  controller.abort(new Error('time is up'));
  const result = await drained;
  assert.ok(hasCode('PW_DEADLINE')(result.error), String(result.error));
  assert.equal(source.destroyed, true);
});

test('fetch: a Content-Length other than the descriptor size is refused before any byte is passed on', async () => {
  const repository = repositoryOver(streamingTransport(Readable.from([CONTENT]), CONTENT.byteLength + 1));
  await assert.rejects(repository.fetch(DESCRIPTOR, callUntil()), hasCode('PW_DIGEST_MISMATCH', /Content-Length/));
});

test('fetch: a descriptor over the cap is refused without a request', async () => {
  const transport = streamingTransport(Readable.from([CONTENT]));
  const repository = repositoryOver(transport);
  await assert.rejects(
    repository.fetch(DESCRIPTOR, callUntil(), { maxBytes: 100 }),
    hasCode('PW_TOO_LARGE', /over the 100-byte cap/),
  );
  assert.equal(transport.sent, 0);
});

test('fetchAll collects a small blob, and refuses one over its cap before asking', async () => {
  const transport = fakeTransport(() => ({ status: 200, body: CONTENT }));
  const repository = repositoryOver(transport);
  assert.deepEqual(Buffer.from(await fetchAll(repository, DESCRIPTOR, callUntil())), CONTENT);
  await assert.rejects(fetchAll(repository, DESCRIPTOR, callUntil(), 10), hasCode('PW_TOO_LARGE'));
  assert.equal(transport.requests.length, 1);
});

test('the memory fake streams through the same check: tampered content fails', async () => {
  const memory = new MemoryRepository();
  const descriptor = await memory.pushBlob(CONTENT, 'application/octet-stream', callUntil());
  assert.deepEqual(Buffer.from(await fetchAll(memory, descriptor, callUntil())), CONTENT);
  memory.tamperBlob(descriptor.digest, Buffer.from(CONTENT).fill(0x20, 0, 5));
  await assert.rejects(fetchAll(memory, descriptor, callUntil()), hasCode('PW_DIGEST_MISMATCH', /does not match/));
});

test('registry connections: repositories of one owner share its sockets; the owner closes them, a repository does not', async () => {
  const sockets = new Set<Socket>();
  let closed = 0;
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'content-length': String(CONTENT.byteLength) }).end(CONTENT),
  );
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => closed++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const connections = createRegistryConnections();
    const open = (path: string) =>
      new HttpRepository({ registry: host, host, path }, { connections, insecure: true, retry: { maxAttempts: 1 } });
    const a = open('acme/a');
    const b = open('acme/b');
    assert.deepEqual(Buffer.from(await fetchAll(a, DESCRIPTOR, callUntil())), CONTENT);
    assert.deepEqual(Buffer.from(await fetchAll(b, DESCRIPTOR, callUntil())), CONTENT);
    // http after the failed https attempt, remembered by the owner: both repositories used one kept-alive socket.
    assert.equal(connections.plainHttp.isPlainHttp(host), true);
    const httpSockets = sockets.size;
    a.close();
    b.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(closed, httpSockets - 1, 'closing a repository leaves the pooled socket open');
    connections.close();
    await waitFor(() => closed === httpSockets);
  } finally {
    await closeServer(server);
  }
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let tries = 0; tries < 200 && !condition(); tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition());
}

test('plain-HTTP memo: remembered per owner, forgotten after its time', () => {
  let now = 0;
  const connections = createRegistryConnections({ now: () => now, plainHttpMemoMs: 1000 });
  const other = createRegistryConnections({ now: () => now });
  connections.plainHttp.remember('r.example:5000');
  assert.equal(connections.plainHttp.isPlainHttp('r.example:5000'), true);
  assert.equal(other.plainHttp.isPlainHttp('r.example:5000'), false);
  now = 1001;
  assert.equal(connections.plainHttp.isPlainHttp('r.example:5000'), false);
  connections.close();
  other.close();
});
