// /mutate against Debian's real docker-registry: the pinned digest is the one skopeo reports; 500 concurrent
// admissions of one tag reach the registry as one manifest request; registry access comes from the object's
// Secrets the way Flux builds it (secretRef, ServiceAccount pull secrets, certSecretRef).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemorySecretReader } from '../../../src/kube/index.ts';
import type { MemorySecrets } from '../../../src/kube/index.ts';
import { clusterAccess, createPinResolver } from '../../../src/flows/index.ts';
import type { PinResolver } from '../../../src/flows/index.ts';
import { admissionReview, decodePatch, ociRepository } from '../../helpers/admission.ts';
import { startCountingProxy } from '../../helpers/counting-proxy.ts';
import type { CountingProxy } from '../../helpers/counting-proxy.ts';
import { pushFluxArtifact, pushImage } from '../../helpers/push-image.ts';
import { startRegistry } from '../../helpers/registry.ts';
import type { TestRegistry } from '../../helpers/registry.ts';
import { startHarness } from './harness.ts';
import { TRUSTS_PLATFORM_KEY } from '../../helpers/trust.ts';

const INSECURE_POLICY = `ociRepository: {${TRUSTS_PLATFORM_KEY}, allowInsecure: true, mutate: {semverToDigest: true}}\nregistry: {timeoutSeconds: 5, allowNetworks: ["127.0.0.0/8", "::1/128"]}`;
const SECURE_POLICY = `ociRepository: {${TRUSTS_PLATFORM_KEY}}\nregistry: {timeoutSeconds: 5, allowNetworks: ["127.0.0.0/8", "::1/128"]}`;

let plain: TestRegistry;
let tls: TestRegistry;
let basic: TestRegistry;
let proxy: CountingProxy;
const resolvers: PinResolver[] = [];

before(async () => {
  [plain, tls, basic] = await Promise.all([
    startRegistry({ mode: 'plain' }),
    startRegistry({ mode: 'tls' }),
    startRegistry({ mode: 'basic' }),
  ]);
  proxy = await startCountingProxy(plain.url);
});

after(async () => {
  for (const resolver of resolvers) resolver.close();
  await proxy?.stop();
  await Promise.all([plain?.stop(), tls?.stop(), basic?.stop()]);
});

function track(resolver: PinResolver): PinResolver {
  resolvers.push(resolver);
  return resolver;
}

function pins(secrets: MemorySecrets = {}): PinResolver {
  return track(createPinResolver({ access: clusterAccess(createMemorySecretReader(secrets)) }));
}

function dockerConfig(host: string, username: string, password: string): string {
  return JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } });
}

test('the pinned digest is the digest skopeo reports (plain image and Flux artifact)', async () => {
  const imageDigest = await pushImage({ host: plain.host, path: 'acme/image', insecure: true }, 'v1.0.0');
  const artifactDigest = await pushFluxArtifact({ host: plain.host, path: 'acme/fleet', insecure: true }, 'v3');
  const skopeoImage = execFileSync(
    'skopeo',
    ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${plain.host}/acme/image:v1.0.0`],
    { encoding: 'utf8' },
  ).trim();
  // skopeo will not "inspect" a non-image artifact: it fetches the raw manifest and digests it itself.
  const raw = execFileSync('skopeo', [
    'inspect',
    '--raw',
    '--tls-verify=false',
    `docker://${plain.host}/acme/fleet:v3`,
  ]);
  const work = mkdtempSync(join(tmpdir(), 'pinwarden-skopeo-'));
  writeFileSync(join(work, 'manifest.json'), raw);
  const skopeoArtifact = execFileSync('skopeo', ['manifest-digest', join(work, 'manifest.json')], {
    encoding: 'utf8',
  }).trim();
  rmSync(work, { recursive: true, force: true });
  assert.equal(skopeoImage, imageDigest);
  assert.equal(skopeoArtifact, artifactDigest);

  const h = startHarness({ policy: INSECURE_POLICY, pins: pins() });
  for (const [path, tag, expected] of [
    ['acme/image', 'v1.0.0', skopeoImage],
    ['acme/fleet', 'v3', skopeoArtifact],
  ] as const) {
    const object = ociRepository({ url: `oci://${plain.host}/${path}`, insecure: true, ref: { tag } });
    const { response } = await h.review('/mutate', admissionReview(object));
    assert.equal(decodePatch(response)[0]?.value, expected);
  }
});

test('semver → highest matching tag → digest, recorded in pinned-from', async () => {
  const target = { host: plain.host, path: 'acme/semver', insecure: true };
  await pushImage(target, 'v1.0.0');
  const wanted = await pushImage(target, 'v1.2.0');
  await pushImage(target, 'v2.0.0');
  await pushImage(target, 'latest', 'v2.0.0');
  const h = startHarness({ policy: INSECURE_POLICY, pins: pins() });
  const object = ociRepository({
    url: `oci://${plain.host}/acme/semver`,
    insecure: true,
    ref: { semver: '>=1.0.0 <2.0.0' },
  });
  const { response } = await h.review('/mutate', admissionReview(object));
  const patch = decodePatch(response);
  assert.equal(patch[0]?.value, wanted);
  assert.equal(
    (patch[1]?.value as Record<string, string>)['pinwarden.dev/pinned-from'],
    'semver:>=1.0.0 <2.0.0 → v1.2.0',
  );
});

test('a missing tag: no patch, a warning naming PW_MANIFEST_UNKNOWN; validate denies with it', async () => {
  const h = startHarness({ policy: INSECURE_POLICY, pins: pins() });
  const object = ociRepository({ url: `oci://${plain.host}/acme/image`, insecure: true, ref: { tag: 'nope' } });
  const mutated = await h.review('/mutate', admissionReview(object));
  assert.equal(mutated.response.patch, undefined);
  assert.match(mutated.response.warnings[0], /PW_MANIFEST_UNKNOWN/);
  const validated = await h.review('/validate', admissionReview(object));
  assert.equal(validated.response.allowed, false);
  assert.match(validated.response.status.message, /\[digest-required\][^\n]*PW_MANIFEST_UNKNOWN/);
});

test('coalescing: 500 concurrent /mutate admissions of one tag reach the registry as exactly one manifest request', async () => {
  const digest = await pushImage({ host: plain.host, path: 'hot/app', insecure: true }, 'v1');
  const h = startHarness({
    policy: INSECURE_POLICY,
    pins: (metrics) =>
      track(createPinResolver({ access: clusterAccess(createMemorySecretReader()), onEvent: metrics.onRegistryEvent })),
  });
  proxy.reset();
  const reviews = Array.from({ length: 500 }, (_, index) =>
    admissionReview(
      ociRepository(
        { url: `oci://${proxy.host}/hot/app`, insecure: true, ref: { tag: 'v1' } },
        { name: `app-${index}`, namespace: `team-${index % 7}` },
      ),
    ),
  );
  const answers = await Promise.all(reviews.map((review) => h.review('/mutate', review)));
  assert.ok(answers.every((answer) => decodePatch(answer.response)[0]?.value === digest));
  assert.equal(proxy.countPrefix('HEAD /v2/hot/app/manifests/') + proxy.countPrefix('GET /v2/hot/app/manifests/'), 1);
  const metrics = await h.metrics.registry.metrics();
  assert.match(metrics, /pinwarden_resolver_coalesced_total 499/);
  // The webhook reads the manifest (GET) and checks it before pinning, rather than trusting a HEAD header.
  assert.match(metrics, /pinwarden_registry_requests_total\{endpoint="manifest",method="GET",outcome="200"\} 1/);

  // Warm: the next admissions are answered from the TTL cache.
  await Promise.all(reviews.slice(0, 20).map((review) => h.review('/mutate', review)));
  assert.equal(proxy.countPrefix('GET /v2/hot/app/manifests/'), 1);
  assert.match(await h.metrics.registry.metrics(), /pinwarden_resolver_cache_hits_total 20/);
});

test('TLS registry: spec.certSecretRef (ca.crt, or the deprecated caFile) makes it trusted; without it, a TLS error', async () => {
  const digest = await pushImage({ host: tls.host, path: 'secure/app', tls: { ca: tls.tls!.caPem } }, 'v1');
  const secrets = {
    secrets: {
      'apps/registry-ca': { data: { 'ca.crt': tls.tls!.caPem } },
      'apps/registry-ca-old': { data: { caFile: tls.tls!.caPem } },
    },
  };
  const h = startHarness({ policy: SECURE_POLICY, pins: pins(secrets) });
  for (const name of ['registry-ca', 'registry-ca-old']) {
    const object = ociRepository({ url: `oci://${tls.host}/secure/app`, ref: { tag: 'v1' }, certSecretRef: { name } });
    const { response } = await h.review('/mutate', admissionReview(object));
    assert.equal(decodePatch(response)[0]?.value, digest, name);
  }
  const untrusted = await h.review(
    '/mutate',
    admissionReview(ociRepository({ url: `oci://${tls.host}/secure/app`, ref: { tag: 'v1' } })),
  );
  assert.equal(untrusted.response.patch, undefined);
  assert.match(untrusted.response.warnings[0], /PW_REGISTRY_UNREACHABLE/);
});

test('basic-auth registry: spec.secretRef, then ServiceAccount pull secrets; none → PW_REGISTRY_AUTH; missing Secret → PW_INPUT_INVALID', async () => {
  const user = basic.user!;
  const digest = await pushImage(
    {
      host: basic.host,
      path: 'private/app',
      insecure: true,
      credentials: { username: user.username, password: user.password },
    },
    'v1',
  );
  const h = startHarness({
    policy: INSECURE_POLICY,
    pins: pins({
      secrets: {
        'apps/regcred': {
          type: 'kubernetes.io/dockerconfigjson',
          data: { '.dockerconfigjson': dockerConfig(basic.host, user.username, user.password) },
        },
        'apps/other-registry': {
          type: 'kubernetes.io/dockerconfigjson',
          data: { '.dockerconfigjson': dockerConfig('ghcr.io', 'x', 'y') },
        },
      },
      serviceAccounts: { 'apps/puller': { imagePullSecrets: ['other-registry', 'regcred'] } },
    }),
  });
  const base = { url: `oci://${basic.host}/private/app`, insecure: true, ref: { tag: 'v1' } };
  const bySecret = await h.review(
    '/mutate',
    admissionReview(ociRepository({ ...base, secretRef: { name: 'regcred' } })),
  );
  assert.equal(decodePatch(bySecret.response)[0]?.value, digest);
  const byAccount = await h.review(
    '/mutate',
    admissionReview(ociRepository({ ...base, serviceAccountName: 'puller' })),
  );
  assert.equal(decodePatch(byAccount.response)[0]?.value, digest);
  const anonymous = await h.review('/mutate', admissionReview(ociRepository(base)));
  assert.match(anonymous.response.warnings[0], /PW_REGISTRY_AUTH/);
  const missing = await h.review('/mutate', admissionReview(ociRepository({ ...base, secretRef: { name: 'absent' } })));
  assert.match(missing.response.warnings[0], /PW_INPUT_INVALID/);
  assert.ok(
    !JSON.stringify([bySecret, byAccount, anonymous, missing].map((answer) => answer.body)).includes(user.password),
    'no secret in any answer',
  );
  assert.ok(!JSON.stringify(h.logs).includes(user.password), 'no secret in any log line');
});
