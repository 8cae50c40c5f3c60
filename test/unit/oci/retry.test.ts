import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { HttpRepository, createTokenCache } from '../../../src/oci/index.ts';
import type { HttpRepositoryOptions, RegistryEvent } from '../../../src/oci/index.ts';
import { DEFAULT_RETRY_POLICY, backoffDelay, parseRetryAfter, planRetry } from '../../../src/oci/retry.ts';
import { callUntil, fakeTransport, manualClock } from '../../helpers/fake-transport.ts';
import type { ScriptedAnswer } from '../../helpers/fake-transport.ts';
import type { TransportRequest } from '../../../src/oci/transport.ts';

const DIGEST = `sha256:${'b'.repeat(64)}`;
const HEAD_OK: ScriptedAnswer = {
  status: 200,
  headers: {
    'docker-content-digest': DIGEST,
    'content-type': 'application/vnd.oci.image.manifest.v1+json',
    'content-length': '321',
  },
};

function repositoryWith(
  answer: (request: TransportRequest, index: number) => ScriptedAnswer | Error,
  options: HttpRepositoryOptions = {},
) {
  const transport = fakeTransport(answer);
  const clock = manualClock();
  const repository = new HttpRepository(
    { registry: 'r.example', host: 'r.example', path: 'acme/app' },
    { transport, clock, tokenCache: createTokenCache(), ...options },
  );
  return { transport, clock, repository };
}

const rejectsWith = (code: string, message?: RegExp) => (error: unknown) =>
  error instanceof PinwardenError && error.code === code && (message === undefined || message.test(error.message));

test('backoff doubles, is capped and jittered into [half, full]', () => {
  const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((attempt) => backoffDelay(policy, attempt, 1)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.deepEqual(
    [0, 1, 2].map((attempt) => backoffDelay(policy, attempt, 0)),
    [50, 100, 200],
  );
});

test('Retry-After: delay-seconds or HTTP-date, relative to the injected clock', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('planRetry fails now when the wait would pass the deadline', () => {
  const clock = manualClock(0);
  const error = new PinwardenError('PW_RATE_LIMITED', 'GET x: 429');
  const waited = planRetry(DEFAULT_RETRY_POLICY, clock, callUntil(10_000), 0, { error, retryAfterMs: 2000 });
  assert.equal(waited, 2000);
  const refused = planRetry(DEFAULT_RETRY_POLICY, clock, callUntil(1500), 0, { error, retryAfterMs: 2000 });
  assert.ok(
    refused instanceof PinwardenError &&
      refused.code === 'PW_RATE_LIMITED' &&
      /pass the deadline/.test(refused.message),
  );
  const tooLong = planRetry(DEFAULT_RETRY_POLICY, clock, callUntil(), 0, { error, retryAfterMs: 120_000 });
  assert.ok(tooLong instanceof PinwardenError && /longer than allowed/.test(tooLong.message));
});

test('503 and 502 are retried with backoff, then the answer is used', async () => {
  const { repository, clock, transport } = repositoryWith((_request, index) =>
    index < 2 ? { status: index === 0 ? 503 : 502 } : HEAD_OK,
  );
  const descriptor = await repository.resolve('v1', callUntil());
  assert.equal(descriptor.digest, DIGEST);
  assert.equal(transport.requests.length, 3);
  assert.deepEqual(clock.sleeps, [150, 300]);
});

test('429 with Retry-After waits exactly that long', async () => {
  const { repository, clock } = repositoryWith((_request, index) =>
    index === 0 ? { status: 429, headers: { 'retry-after': '2' } } : HEAD_OK,
  );
  await repository.resolve('v1', callUntil(clock.now() + 10_000));
  assert.deepEqual(clock.sleeps, [2000]);
});

test('429 whose Retry-After passes the deadline fails at once with PW_RATE_LIMITED', async () => {
  const { repository, clock, transport } = repositoryWith(() => ({ status: 429, headers: { 'retry-after': '30' } }));
  await assert.rejects(
    repository.resolve('v1', callUntil(clock.now() + 5_000)),
    rejectsWith('PW_RATE_LIMITED', /429.*pass the deadline/),
  );
  assert.equal(transport.requests.length, 1);
  assert.deepEqual(clock.sleeps, []);
});

test('network errors are retried; attempts are bounded and the cause named', async () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
  const { repository, transport } = repositoryWith((request) => {
    throw new PinwardenError('PW_REGISTRY_UNREACHABLE', `${request.method}: ${refused.message}`, {
      details: { retryable: true, networkCode: 'ECONNREFUSED' },
    });
  });
  await assert.rejects(
    repository.resolve('v1', callUntil()),
    rejectsWith('PW_REGISTRY_UNREACHABLE', /ECONNREFUSED.*gave up after 4 attempts/),
  );
  assert.equal(transport.requests.length, DEFAULT_RETRY_POLICY.maxAttempts);
});

test('404, 401 and 403 are final and never retried', async () => {
  for (const [status, code] of [
    [404, 'PW_MANIFEST_UNKNOWN'],
    [401, 'PW_REGISTRY_AUTH'],
    [403, 'PW_REGISTRY_AUTH'],
  ] as const) {
    const body = JSON.stringify({ errors: [{ code: 'DENIED', message: 'nope' }] });
    const { repository, transport, clock } = repositoryWith(() => ({ status, body }));
    await assert.rejects(repository.fetchManifest('v1', callUntil()), rejectsWith(code), String(status));
    assert.equal(transport.requests.length, 1, String(status));
    assert.deepEqual(clock.sleeps, []);
  }
});

test('only the distribution-spec codes of a registry error reach the message; the body text goes to the event sink', async () => {
  const body = JSON.stringify({
    errors: [
      { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x'.repeat(5000) } },
      { code: 'ANYTHING_ELSE' },
    ],
  });
  const events: RegistryEvent[] = [];
  const { repository } = repositoryWith(() => ({ status: 404, body }), { onEvent: (event) => events.push(event) });
  await assert.rejects(repository.fetchManifest('v9', callUntil()), (error: unknown) => {
    assert.ok(error instanceof PinwardenError);
    assert.equal(error.message, 'GET https://r.example/v2/acme/app/manifests/v9: 404 MANIFEST_UNKNOWN');
    return true;
  });
  const logged = events.find((event) => event.type === 'response-body');
  assert.ok(logged && logged.type === 'response-body');
  assert.match(logged.summary, /^MANIFEST_UNKNOWN: manifest unknown; ANYTHING_ELSE$/);
});

test('an aborted call surfaces as PW_DEADLINE', async () => {
  const controller = new AbortController();
  controller.abort(new Error('timeout'));
  const { repository } = repositoryWith(() => HEAD_OK);
  await assert.rejects(repository.resolve('v1', { signal: controller.signal }), rejectsWith('PW_DEADLINE'));
});
