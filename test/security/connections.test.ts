// Attack (issue #7 item 7): 300 TLS connections that each announce a large review and then trickle its
// body took the webhook to 1 GiB, and none was closed after 135 s. Defence: a request timeout (15 s), a
// cap on connections (--max-connections), and an in-flight body budget (--max-body-budget) past which a
// request is refused with 503 PW_REVIEW_BUSY before its body is read. Against the real `serve` on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { openSlowClient, reviewText, startServeProcess } from './serve-process.ts';
import type { ServeProcess, SlowClient } from './serve-process.ts';

const CONNECTIONS = 300;
const MAX_CONNECTIONS = 200;
const BUDGET_MIB = 32;
/** What each slow request announces. */
const DECLARED = 1024 * 1024;

let serve: ServeProcess;

before(async () => {
  serve = await startServeProcess({
    policy: 'ociRepository: {allowKeyBased: false}',
    args: ['--max-connections', String(MAX_CONNECTIONS), '--max-body-budget', String(BUDGET_MIB)],
  });
});

after(async () => {
  assert.equal(await serve.stop(), 0);
});

function slowClient(idle = false): Promise<SlowClient> {
  return openSlowClient(serve, DECLARED, idle === true);
}

test(`${CONNECTIONS} slow-body TLS connections: the budget refuses most with 503 at once, the rest are closed by the request timeout, memory stays bounded`, async () => {
  const before = serve.rssBytes();
  const clients: SlowClient[] = [];
  for (let batch = 0; batch < CONNECTIONS; batch += 25) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(25, CONNECTIONS - batch) }, () => slowClient()))));
  }
  // Keep trickling to the held ones: a byte a second is never "idle", only the request timeout ends them.
  const trickle = setInterval(() => {
    for (const client of clients) if (client.closedAfterMs === undefined && client.connected) client.socket.write(' ');
  }, 1000);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const peak = serve.rssBytes();
  const health = await serve.healthzMs();
  const busy = clients.filter((client) => client.status === 503);
  const refusedAtAccept = clients.filter((client) => !client.connected);
  const held = clients.filter((client) => client.connected && client.status === undefined);
  assert.ok(busy.length > 0, 'some requests were refused for the body budget');
  assert.ok(
    busy.every((client) => /PW_REVIEW_BUSY/.test(client.answer)),
    'the 503 names PW_REVIEW_BUSY',
  );
  assert.ok(
    held.length <= (BUDGET_MIB * 1024 * 1024) / DECLARED,
    `${held.length} bodies held, budget allows ${BUDGET_MIB}`,
  );
  assert.ok(busy.length + refusedAtAccept.length + held.length >= CONNECTIONS - 5, 'every connection is accounted for');
  assert.ok(health < 1000, `/healthz answered in ${Math.round(health)} ms under the flood`);
  assert.ok(peak - before < 256 * 1024 * 1024, `RSS grew ${Math.round((peak - before) / 1048576)} MiB`);

  // Everyone still open is closed by the 15 s request timeout (checked every second), not left forever.
  const deadline = performance.now() + 25_000;
  while (clients.some((client) => client.closedAfterMs === undefined) && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 250));
  clearInterval(trickle);
  const open = clients.filter((client) => client.closedAfterMs === undefined);
  for (const client of open) client.socket.destroy();
  assert.equal(open.length, 0, `${open.length} connections still open after 25 s`);
  const heldClosed = held.map((client) => client.closedAfterMs ?? 0);
  assert.ok(
    Math.max(...heldClosed) < 20_000,
    `the last held connection closed after ${Math.round(Math.max(...heldClosed))} ms`,
  );
  assert.ok(Math.min(...heldClosed) > 10_000, 'held connections were given their request time, not cut early');

  // The budget is released: an ordinary review is served again.
  const after = await serve.post('/validate?timeout=10s', reviewText({ url: 'oci://ghcr.io/acme/app' }, 'conn-1'));
  assert.equal(after.status, 200);
  assert.equal(after.json.response.uid, 'conn-1');
});

test('connections past --max-connections are closed on accept', async () => {
  // Connections that send nothing: each is held until the headers timeout, so they add up.
  const clients = await Promise.all(Array.from({ length: MAX_CONNECTIONS + 30 }, () => slowClient(true)));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const dropped = clients.filter((client) => client.closedAfterMs !== undefined && client.status === undefined);
  for (const client of clients) client.socket.destroy();
  assert.ok(
    dropped.length >= 25 && dropped.length <= 40,
    `${dropped.length} of ${clients.length} connections were dropped at the cap of ${MAX_CONNECTIONS}`,
  );
});

test('a path other than /mutate and /validate gets its 404 before any body is sent', async () => {
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: serve.webhookPort, ca: serve.ca.certPem, servername: 'localhost' },
      () => {
        socket.write(
          `POST /admin HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${DECLARED}\r\n\r\n`,
        );
      },
    );
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(), 5000);
  });
  assert.match(answer, /^HTTP\/1\.1 404/);
  assert.match(answer, /connection: close/i);
});
