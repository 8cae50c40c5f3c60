// Registry down, slow or failing: /mutate answers within registry.timeoutSeconds + a small margin with no
// patch and a warning naming the cause; /validate then denies with digest-required and that cause (or only
// warns with onUnreachable: warn). Real flows and the real OCI client against loopback fault servers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createMemorySecretReader } from '../../../src/kube/index.ts';
import { clusterAccess, createPinResolver } from '../../../src/flows/index.ts';
import type { PinResolver } from '../../../src/flows/index.ts';
import { admissionReview, ociRepository } from '../../helpers/admission.ts';
import type { Loose } from '../../helpers/admission.ts';
import { startFakeRegistry } from '../../helpers/fake-registry.ts';
import type { FakeRegistry } from '../../helpers/fake-registry.ts';
import { freePort } from '../../helpers/registry.ts';
import { startHarness } from './harness.ts';
import { TRUSTS_PLATFORM_KEY } from '../../helpers/trust.ts';

const TIMEOUT_S = 1;
/** What the answer may take beyond the registry deadline (scheduling, serialisation). */
const MARGIN_MS = 400;
const POLICY = `ociRepository: {${TRUSTS_PLATFORM_KEY}, allowInsecure: true}\nregistry: {timeoutSeconds: ${TIMEOUT_S}, allowNetworks: ["127.0.0.0/8", "::1/128"]}`;
const WARN_POLICY = `ociRepository: {${TRUSTS_PLATFORM_KEY}, allowInsecure: true}\nregistry: {timeoutSeconds: ${TIMEOUT_S}, onUnreachable: warn, allowNetworks: ["127.0.0.0/8", "::1/128"]}`;

let blackHole: Server;
let blackHoleHost: string;
const sockets = new Set<Socket>();
let failing: FakeRegistry;
let refusedHost: string;
const resolvers: PinResolver[] = [];

before(async () => {
  // Accepts connections and never answers: the slowest kind of "down".
  blackHole = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  blackHoleHost = `127.0.0.1:${(blackHole.address() as { port: number }).port}`;
  failing = await startFakeRegistry((_request, res) => {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'maintenance' }] }));
    return true;
  });
  refusedHost = `127.0.0.1:${await freePort()}`;
});

after(async () => {
  for (const resolver of resolvers) resolver.close();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => blackHole.close(() => resolve()));
  await failing.stop();
});

function pins(): PinResolver {
  const resolver = createPinResolver({
    access: clusterAccess(createMemorySecretReader()),
    repositoryOptions: { retry: { baseDelayMs: 20 } },
  });
  resolvers.push(resolver);
  return resolver;
}

function objectAt(host: string): Record<string, Loose> {
  return ociRepository({ url: `oci://${host}/acme/app`, insecure: true });
}

const scenarios = [
  { name: 'black hole (no answer)', host: () => blackHoleHost, codes: ['PW_DEADLINE'] },
  { name: 'connection refused', host: () => refusedHost, codes: ['PW_REGISTRY_UNREACHABLE', 'PW_DEADLINE'] },
  { name: '503 on every request', host: () => failing.host, codes: ['PW_REGISTRY_UNREACHABLE', 'PW_DEADLINE'] },
];

for (const scenario of scenarios) {
  test(`${scenario.name}: /mutate answers inside the deadline with a warning; /validate denies with the cause`, async () => {
    const h = startHarness({ policy: POLICY, pins: pins() });
    const object = objectAt(scenario.host());
    const mutated = await h.review('/mutate', admissionReview(object, { uid: 'down-1' }), '?timeout=10s');
    assert.ok(mutated.ms < TIMEOUT_S * 1000 + MARGIN_MS, `mutate took ${Math.round(mutated.ms)}ms`);
    assert.equal(mutated.response.uid, 'down-1');
    assert.equal(mutated.response.allowed, true);
    assert.equal(mutated.response.patch, undefined);
    assert.equal(mutated.response.warnings.length, 1);
    const code = /\((PW_[A-Z_]+)\)/.exec(mutated.response.warnings[0])?.[1];
    assert.ok(scenario.codes.includes(code ?? ''), mutated.response.warnings[0]);
    assert.ok(mutated.response.warnings[0].length <= 120);

    // Same replica: the recorded failure explains the denial at once, without a second registry wait.
    const validated = await h.review('/validate', admissionReview(object, { uid: 'down-2' }), '?timeout=10s');
    assert.ok(validated.ms < 300, `validate took ${Math.round(validated.ms)}ms`);
    assert.equal(validated.response.allowed, false);
    assert.equal(validated.response.status.code, 403);
    assert.match(validated.response.status.message, /\[digest-required\] spec\.ref\.digest: /);
    assert.ok(validated.response.status.message.includes(`[${code}]`), validated.response.status.message);
  });
}

test('another replica validates without having seen the mutation: it asks again within the deadline', async () => {
  const h = startHarness({ policy: POLICY, pins: pins() });
  const validated = await h.review('/validate', admissionReview(objectAt(blackHoleHost)), '?timeout=10s');
  assert.ok(validated.ms < TIMEOUT_S * 1000 + MARGIN_MS, `validate took ${Math.round(validated.ms)}ms`);
  assert.equal(validated.response.allowed, false);
  assert.match(validated.response.status.message, /\[digest-required\][^\n]*\[PW_DEADLINE\]/);
});

test('a short apiserver timeout shortens the registry deadline', async () => {
  const h = startHarness({
    policy:
      'ociRepository: {allowInsecure: true}\nregistry: {timeoutSeconds: 5, allowNetworks: ["127.0.0.0/8", "::1/128"]}',
    pins: pins(),
  });
  const mutated = await h.review('/mutate', admissionReview(objectAt(blackHoleHost)), '?timeout=1s');
  assert.ok(mutated.ms < 1000, `mutate took ${Math.round(mutated.ms)}ms`);
  assert.equal(mutated.response.allowed, true);
});

test('onUnreachable: warn — /validate admits the unpinned object with a digest-required warning', async () => {
  const h = startHarness({ policy: WARN_POLICY, pins: pins() });
  const object = objectAt(failing.host);
  await h.review('/mutate', admissionReview(object));
  const validated = await h.review('/validate', admissionReview(object));
  assert.equal(validated.response.allowed, true);
  assert.equal(validated.response.warnings.length, 1);
  // The cause first (the 120-character cut keeps it), the rule id always last.
  assert.match(
    validated.response.warnings[0],
    /^not pinned, registry unavailable \(PW_[A-Z_]+\): .+ \[digest-required( spec\.ref\.digest)?\]$/,
  );
  assert.ok(validated.response.warnings[0].length <= 120);
});

test('onUnreachable: warn does not excuse other failures (a registry outside allowedRegistries is never contacted)', async () => {
  const h = startHarness({
    policy: `${WARN_POLICY}\n`.replace(
      'allowInsecure: true}',
      "allowInsecure: true, allowedRegistries: ['oci://ghcr.io/acme/']}",
    ),
    pins: pins(),
  });
  const object = objectAt(failing.host);
  const before = failing.requests.length;
  const mutated = await h.review('/mutate', admissionReview(object));
  assert.match(mutated.response.warnings[0], /PW_INPUT_INVALID/);
  assert.equal(failing.requests.length, before, 'not contacted');
  const validated = await h.review('/validate', admissionReview(object));
  assert.equal(validated.response.allowed, false);
  assert.deepEqual(h.logs.at(-1)?.ruleIds, ['digest-required', 'registry-not-allowed']);
});

test('spec.insecure while the policy forbids it: the registry is not contacted over plain HTTP', async () => {
  const h = startHarness({
    policy: 'registry: {timeoutSeconds: 1, allowNetworks: ["127.0.0.0/8", "::1/128"]}',
    pins: pins(),
  });
  const before = failing.requests.length;
  const mutated = await h.review('/mutate', admissionReview(objectAt(failing.host)));
  assert.equal(mutated.response.patch, undefined);
  assert.match(mutated.response.warnings[0], /PW_INPUT_INVALID/);
  assert.equal(failing.requests.length, before);
});
