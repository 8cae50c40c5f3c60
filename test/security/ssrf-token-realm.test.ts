// Attack (issue #7 item 2): the tenant's registry answers 401 with a Bearer `realm` on an internal service,
// so the webhook asks it for a "token" (a GET, or a POST with an identity token) and forwards whatever it
// answers (`access_token`) to the tenant's registry as `Authorization: Bearer …`. Defence: the realm goes
// through the same address guard as the registry, and must be on a host allowedRegistries names.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { admissionReview, ociRepository } from '../helpers/admission.ts';
import { startFakeRegistry } from '../helpers/fake-registry.ts';
import type { FakeRegistry } from '../helpers/fake-registry.ts';
import { SECRET, TENANT_ADDRESS, TENANT_POLICY, startInternalService, webhook } from './fixtures.ts';
import type { InternalService } from './fixtures.ts';

let internal: InternalService;
let tenant: FakeRegistry;
/** A token service on an allowed address but another host than the registry. */
let foreignRealm: FakeRegistry;
let realm = '';

before(async () => {
  internal = await startInternalService();
  foreignRealm = await startFakeRegistry(() => false, TENANT_ADDRESS);
  tenant = await startFakeRegistry((request, res) => {
    res.writeHead(401, {
      'www-authenticate': `Bearer realm="${realm}",service="tenant"`,
      'content-type': 'application/json',
    });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authenticate' }] }));
    return request.path.length > 0;
  }, TENANT_ADDRESS);
});

after(async () => {
  await Promise.all([internal.stop(), tenant.stop(), foreignRealm.stop()]);
});

function leakedToTenant(): boolean {
  return tenant.requests.some((request) => String(request.headers.authorization ?? '').includes(SECRET));
}

test('a 401 realm on an internal service is never asked, and nothing it could answer reaches the tenant', async () => {
  realm = `http://${internal.host}/v1/token`;
  const { h, pins } = webhook(TENANT_POLICY);
  try {
    const object = ociRepository({ url: `oci://${tenant.host}/acme/app`, ref: { tag: 'v1' }, insecure: true });
    const mutated = await h.review('/mutate', admissionReview(object));
    assert.equal(mutated.response.patch, undefined);
    const validated = await h.review('/validate', admissionReview(object));
    assert.match(validated.response.status.message, /\[PW_REGISTRY_ADDRESS_DENIED\]/);
    assert.deepEqual(internal.requests, []);
    assert.equal(leakedToTenant(), false);
  } finally {
    pins.close();
  }
});

test('with an identity token the realm call is a POST: an internal realm is denied just the same', async () => {
  realm = `http://${internal.host}/oauth2/token`;
  const auths = { [tenant.host]: { identitytoken: 'tenant-refresh-token' } };
  const { h, pins } = webhook(TENANT_POLICY, {
    secrets: {
      'apps/pull': { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': JSON.stringify({ auths }) } },
    },
  });
  try {
    const object = ociRepository({
      url: `oci://${tenant.host}/acme/app`,
      ref: { tag: 'v1' },
      insecure: true,
      secretRef: { name: 'pull' },
    });
    const mutated = await h.review('/mutate', admissionReview(object));
    assert.match(mutated.response.warnings[0], /PW_REGISTRY_ADDRESS_DENIED/);
    assert.deepEqual(internal.requests, [], 'no POST reached the internal service');
    assert.equal(leakedToTenant(), false);
  } finally {
    pins.close();
  }
});

test('a realm on a host outside allowedRegistries is not contacted, even on an allowed address', async () => {
  realm = `${foreignRealm.url}/token`;
  const policy = `ociRepository: {allowInsecure: true, allowedRegistries: ['oci://${tenant.host}/']}\nregistry: {timeoutSeconds: 2, allowNetworks: ["127.0.0.2/32"]}`;
  const { h, pins } = webhook(policy);
  try {
    const object = ociRepository({ url: `oci://${tenant.host}/acme/app`, ref: { tag: 'v1' }, insecure: true });
    const validated = await h.review('/validate', admissionReview(object));
    assert.match(
      validated.response.status.message,
      /token realm [^ ]+ is not a host in spec\.ociRepository\.allowedRegistries[^\n]*\[PW_REGISTRY_ADDRESS_DENIED\]/,
    );
    assert.deepEqual(foreignRealm.requests, []);
  } finally {
    pins.close();
  }
});
