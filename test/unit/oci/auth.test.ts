import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { HttpRepository, createRegistryStats, createTokenCache } from '../../../src/oci/index.ts';
import type { Credentials } from '../../../src/oci/index.ts';
import { callUntil, fakeTransport, manualClock, toResponse as fakeResponse } from '../../helpers/fake-transport.ts';
import type { ScriptedAnswer } from '../../helpers/fake-transport.ts';
import type { TransportRequest } from '../../../src/oci/transport.ts';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const HEAD_OK: ScriptedAnswer = {
  status: 200,
  headers: {
    'docker-content-digest': DIGEST,
    'content-type': 'application/vnd.oci.image.manifest.v1+json',
    'content-length': '10',
  },
};
const CHALLENGE =
  'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:acme/app:pull"';

/** A registry wanting bearer tokens, and its token service, behind one fake transport. */
function tokenWorld(
  tokenAnswer: (request: TransportRequest) => ScriptedAnswer = () => ({
    status: 200,
    body: JSON.stringify({ token: 'T1', expires_in: 300 }),
  }),
) {
  return fakeTransport((request) => {
    if (request.url.host === 'auth.example') return tokenAnswer(request);
    return request.headers.authorization === 'Bearer T1'
      ? HEAD_OK
      : { status: 401, headers: { 'www-authenticate': CHALLENGE } };
  });
}

function repository(
  transport: ReturnType<typeof fakeTransport>,
  credentials?: Credentials,
  clock = manualClock(),
  tokenCache = createTokenCache(),
) {
  const { stats, onEvent } = createRegistryStats();
  const repo = new HttpRepository(
    { registry: 'r.example', host: 'r.example', path: 'acme/app' },
    { transport, clock, tokenCache, onEvent, ...(credentials ? { credentials } : {}) },
  );
  return { repo, stats, clock, tokenCache };
}

test('bearer flow: challenge → token with Basic credentials → retry; token cached until expiry', async () => {
  const transport = tokenWorld();
  const { repo, stats, clock, tokenCache } = repository(transport, { username: 'bot', password: 'pw' });
  assert.equal((await repo.resolve('v1', callUntil())).digest, DIGEST);
  const tokenRequests = () => transport.requests.filter((r) => r.url.host === 'auth.example');
  assert.equal(tokenRequests().length, 1);
  const [tokenRequest] = tokenRequests();
  assert.equal(tokenRequest?.url.searchParams.get('scope'), 'repository:acme/app:pull');
  assert.equal(tokenRequest?.url.searchParams.get('service'), 'registry.example');
  assert.equal(tokenRequest?.headers.authorization, `Basic ${Buffer.from('bot:pw').toString('base64')}`);

  // A second repository instance (as the webhook makes per request) reuses challenge and token: no 401.
  const again = repository(transport, { username: 'bot', password: 'pw' }, clock, tokenCache);
  const before = transport.requests.length;
  await again.repo.resolve('v1', callUntil());
  assert.equal(transport.requests.length - before, 1);
  assert.equal(tokenRequests().length, 1);

  clock.advance(300_000);
  await again.repo.resolve('v1', callUntil());
  assert.equal(tokenRequests().length, 2, 'expired token refetched');
  assert.equal(stats.tokensFetched, 1);
});

test('tokens are not shared between different credentials', async () => {
  const transport = tokenWorld();
  const tokenCache = createTokenCache();
  const clock = manualClock();
  await repository(transport, { username: 'a', password: '1' }, clock, tokenCache).repo.resolve('v1', callUntil());
  await repository(transport, { username: 'b', password: '2' }, clock, tokenCache).repo.resolve('v1', callUntil());
  assert.equal(transport.requests.filter((r) => r.url.host === 'auth.example').length, 2);
});

test('identity token: OAuth2 POST refresh-token grant, access_token accepted, expires_in defaults to 60 s', async () => {
  const transport = tokenWorld(() => ({ status: 200, body: JSON.stringify({ access_token: 'T1' }) }));
  const { repo, clock } = repository(transport, { username: '<token>', identityToken: 'refresh-123' });
  await repo.resolve('v1', callUntil());
  const post = transport.requests.find((r) => r.url.host === 'auth.example');
  assert.equal(post?.method, 'POST');
  const form = new URLSearchParams(new TextDecoder().decode(post?.body));
  assert.equal(form.get('grant_type'), 'refresh_token');
  assert.equal(form.get('refresh_token'), 'refresh-123');
  assert.equal(form.get('scope'), 'repository:acme/app:pull');
  clock.advance(55_000);
  await repo.resolve('v1', callUntil());
  assert.equal(transport.requests.filter((r) => r.url.host === 'auth.example').length, 2, '60 s minus margin');
});

test('refused credentials → PW_REGISTRY_AUTH without the secret in the message', async () => {
  const transport = tokenWorld(() => ({ status: 401, body: '{"details":"bad password hunter2"}' }));
  const { repo } = repository(transport, { username: 'bot', password: 'hunter2' });
  await assert.rejects(repo.resolve('v1', callUntil()), (error: unknown) => {
    assert.ok(error instanceof PinwardenError && error.code === 'PW_REGISTRY_AUTH');
    assert.ok(!error.message.includes('hunter2'));
    return true;
  });
});

test('a token that still gets 401 is not retried forever', async () => {
  const transport = fakeTransport((request) =>
    request.url.host === 'auth.example'
      ? { status: 200, body: '{"token":"useless"}' }
      : { status: 401, headers: { 'www-authenticate': CHALLENGE } },
  );
  const { repo } = repository(transport);
  await assert.rejects(
    repo.resolve('v1', callUntil()),
    (error: unknown) => error instanceof PinwardenError && error.code === 'PW_REGISTRY_AUTH',
  );
  assert.equal(transport.requests.length, 3, 'request, token, one retry');
});

test('basic challenge: one retry with credentials, then Basic up front', async () => {
  const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
  const transport = fakeTransport((request) =>
    request.headers.authorization === basic
      ? HEAD_OK
      : { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } },
  );
  const { repo } = repository(transport, { username: 'u', password: 'p' });
  await repo.resolve('v1', callUntil());
  await repo.resolve('v1', callUntil());
  assert.equal(transport.requests.length, 3);
  const anonymous = repository(
    fakeTransport(() => ({ status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } })),
  );
  await assert.rejects(
    anonymous.repo.resolve('v1', callUntil()),
    (error: unknown) => error instanceof PinwardenError && error.code === 'PW_REGISTRY_AUTH',
  );
});

test('a plain-http token realm is refused for a secure registry', async () => {
  const transport = fakeTransport(() => ({
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="http://auth.example/token"' },
  }));
  const { repo } = repository(transport, { username: 'u', password: 'p' });
  await assert.rejects(
    repo.resolve('v1', callUntil()),
    (error: unknown) =>
      error instanceof PinwardenError && error.code === 'PW_REGISTRY_PROTOCOL' && /must use https/.test(error.message),
  );
  assert.equal(transport.requests.length, 1, 'credentials never sent over http');
});

test('registrytoken is sent as the bearer token directly', async () => {
  const transport = fakeTransport((request) =>
    request.headers.authorization === 'Bearer ready' ? HEAD_OK : { status: 401 },
  );
  const { repo } = repository(transport, { registryToken: 'ready' });
  await repo.resolve('v1', callUntil());
  assert.equal(transport.requests.length, 1);
});

test('basic: two concurrent first requests both answer the challenge (the second is not taken for a refused login)', async () => {
  const good = `Basic ${Buffer.from('bot:pw').toString('base64')}`;
  let unauthenticated = 0;
  let release: () => void = () => undefined;
  const bothRefused = new Promise<void>((resolve) => (release = resolve));
  const transport = {
    requests: [] as TransportRequest[],
    async send(request: TransportRequest) {
      transport.requests.push(request);
      if (request.headers.authorization === undefined) {
        // Hold the first 401 until the second request has also gone out without credentials.
        if (++unauthenticated === 2) release();
        await bothRefused;
        return fakeResponse({ status: 401, headers: { 'www-authenticate': 'Basic realm="registry"' } });
      }
      return fakeResponse(
        request.headers.authorization === good
          ? HEAD_OK
          : { status: 401, headers: { 'www-authenticate': 'Basic realm="registry"' } },
      );
    },
    close() {},
  };
  const repo = new HttpRepository(
    { registry: 'r.example', host: 'r.example', path: 'acme/app' },
    {
      transport,
      clock: manualClock(),
      tokenCache: createTokenCache(),
      credentials: { username: 'bot', password: 'pw' },
    },
  );
  const [a, b] = await Promise.all([repo.resolve('v1', callUntil()), repo.resolve('v2', callUntil())]);
  assert.equal(a.digest, DIGEST);
  assert.equal(b.digest, DIGEST);
  assert.equal(transport.requests.filter((request) => request.headers.authorization === good).length, 2);
});

test('basic: credentials the registry refuses are not retried forever (one answer per refused login)', async () => {
  const transport = fakeTransport(() => ({ status: 401, headers: { 'www-authenticate': 'Basic realm="registry"' } }));
  const { repo } = repository(transport, { username: 'bot', password: 'wrong' });
  await assert.rejects(
    repo.resolve('v1', callUntil()),
    (error: unknown) => error instanceof PinwardenError && error.code === 'PW_REGISTRY_AUTH',
  );
  await assert.rejects(
    repo.resolve('v1', callUntil()),
    (error: unknown) => error instanceof PinwardenError && error.code === 'PW_REGISTRY_AUTH',
  );
  // First call: without, then with credentials; second call: with the learned scheme only, not retried.
  assert.equal(transport.requests.length, 3);
});
