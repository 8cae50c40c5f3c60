// Attack (issue #7 item 2): a tenant points spec.url at an internal address, in any spelling, to make the
// webhook contact it; and reads the answers as a port scanner ("ECONNREFUSED" vs "does not speak TLS").
// Defence: the address is checked when the socket connects (after DNS; literal IPs before connecting), and
// a denied address gets one answer whatever listens there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { clusterAccess, createPinResolver, withRegistryCall } from '../../src/flows/index.ts';
import { createMemorySecretReader } from '../../src/kube/index.ts';
import type { PinTarget } from '../../src/core/mutation/index.ts';
import { policyFrom } from '../helpers/rule-tester.ts';
import { admissionReview, ociRepository } from '../helpers/admission.ts';
import { freePort } from '../helpers/registry.ts';
import { sendManifest, startFakeRegistry } from '../helpers/fake-registry.ts';
import type { FakeRegistry } from '../helpers/fake-registry.ts';
import {
  INTERNAL_ADDRESS,
  TENANT_ADDRESS,
  TENANT_POLICY,
  manifestBytes,
  startInternalService,
  webhook,
} from './fixtures.ts';
import type { InternalService } from './fixtures.ts';

let internal: InternalService;
let silent: Server;
let silentPort: number;
let closedPort: number;
let tenant: FakeRegistry;
const manifest = manifestBytes('tenant');

before(async () => {
  internal = await startInternalService();
  // A TCP port that accepts and never answers (neither HTTP nor TLS).
  silent = createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => silent.listen(0, INTERNAL_ADDRESS, resolve));
  silentPort = (silent.address() as { port: number }).port;
  closedPort = await freePort();
  tenant = await startFakeRegistry(
    (request, res) =>
      request.path.endsWith('/manifests/v1') ? sendManifest(res, manifest, { head: request.method === 'HEAD' }) : false,
    TENANT_ADDRESS,
  );
});

after(async () => {
  await internal.stop();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
  await tenant.stop();
});

/** Spellings of 127.0.0.1 (and other internal addresses) a URL parser or resolver may accept. */
const spellings = (port: number): string[] => [
  `127.0.0.1:${port}`,
  `localhost:${port}`,
  `2130706433:${port}`,
  `0x7f.0.0.1:${port}`,
  `0177.0.0.1:${port}`,
  `127.1:${port}`,
  `[::ffff:127.0.0.1]:${port}`,
  `[::ffff:7f00:1]:${port}`,
  `[::1]:${port}`,
  `0.0.0.0:${port}`,
  `169.254.169.254:${port}`,
];

test('every spelling of an internal address is denied at admission, with PW_REGISTRY_ADDRESS_DENIED, and never contacted', async () => {
  const { h, pins } = webhook(TENANT_POLICY);
  try {
    for (const host of spellings(internal.port)) {
      const object = ociRepository({ url: `oci://${host}/acme/app`, ref: { tag: 'v1' }, insecure: true });
      const mutated = await h.review('/mutate', admissionReview(object));
      assert.equal(mutated.response.patch, undefined, host);
      const validated = await h.review('/validate', admissionReview(object));
      assert.equal(validated.response.allowed, false, host);
      assert.match(validated.response.status.message, /address denied[^\n]*\[PW_REGISTRY_ADDRESS_DENIED\]/, host);
    }
    assert.deepEqual(internal.requests, [], 'the internal service was never reached');
  } finally {
    pins.close();
  }
});

test('no port scanner: a closed port, a silent port and an HTTP server get the same denial', async () => {
  const { h, pins } = webhook(TENANT_POLICY);
  try {
    const messages = [];
    for (const port of [closedPort, silentPort, internal.port]) {
      const object = ociRepository({ url: `oci://${INTERNAL_ADDRESS}:${port}/acme/app`, ref: { tag: 'v1' } });
      const validated = await h.review('/validate', admissionReview(object));
      messages.push(String(validated.response.status.message).replaceAll(String(port), 'PORT'));
    }
    assert.equal(new Set(messages).size, 1, messages.join('\n'));
    assert.doesNotMatch(messages[0] ?? '', /ECONNREFUSED|TLS|timed out|deadline/i);
  } finally {
    pins.close();
  }
});

test('the tenant registry on an allowed address pins; the same registry outside allowNetworks does not', async () => {
  const object = ociRepository({ url: `oci://${tenant.host}/acme/app`, ref: { tag: 'v1' }, insecure: true });
  const allowed = webhook(TENANT_POLICY);
  const denied = webhook('ociRepository: {allowInsecure: true}');
  try {
    const pinned = await allowed.h.review('/mutate', admissionReview(object));
    assert.notEqual(pinned.response.patch, undefined);
    const before = tenant.requests.length;
    const refused = await denied.h.review('/mutate', admissionReview(object));
    assert.equal(refused.response.patch, undefined);
    assert.match(refused.response.warnings[0], /PW_REGISTRY_ADDRESS_DENIED/);
    assert.equal(tenant.requests.length, before, 'a denied address is not contacted');
  } finally {
    allowed.pins.close();
    denied.pins.close();
  }
});

test('denyNetworks wins over allowNetworks (the cluster pod and service ranges)', async () => {
  const { h, pins } = webhook(
    'ociRepository: {allowInsecure: true}\nregistry: {allowNetworks: ["127.0.0.0/8"], denyNetworks: ["127.0.0.2/32"]}',
  );
  try {
    const object = ociRepository({ url: `oci://${tenant.host}/acme/app`, ref: { tag: 'v1' }, insecure: true });
    const before = tenant.requests.length;
    const mutated = await h.review('/mutate', admissionReview(object));
    assert.match(
      mutated.response.warnings[0],
      /\(PW_REGISTRY_ADDRESS_DENIED\): 127\.0\.0\.2: address denied \(listed in registry\.denyNetworks\)/,
    );
    assert.equal(tenant.requests.length, before);
  } finally {
    pins.close();
  }
});

test('the CLI acts for its user: an unguarded resolver reaches loopback (check --resolve against localhost:5000)', async () => {
  const pins = createPinResolver({ access: clusterAccess(createMemorySecretReader()), guardNetworks: false });
  try {
    const object = ociRepository({ url: `oci://${tenant.host}/acme/app`, ref: { tag: 'v1' }, insecure: true });
    const policy = policyFrom('ociRepository: {allowInsecure: true}');
    const target: PinTarget = {
      url: `oci://${tenant.host}/acme/app`,
      source: { kind: 'tag', tag: 'v1', implicit: false },
    };
    const resolution = await withRegistryCall(policy, undefined, (call) => pins.resolve(object, target, policy, call));
    assert.equal(resolution.ok, true);
  } finally {
    pins.close();
  }
});
