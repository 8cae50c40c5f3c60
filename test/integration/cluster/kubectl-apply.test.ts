// Issue #8 item 4: pinwarden's webhooks called by a real kube-apiserver. kubectl applies OCIRepositories
// (client-side and --server-side) that name tags on a real docker-registry; what etcd stored is read back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { Loose } from '../../helpers/admission.ts';
import type { OciRepositoryOptions } from '../../support/policies.ts';
import { startWebhookEnv } from '../../support/webhook-env.ts';
import type { WebhookEnv } from '../../support/webhook-env.ts';

let env: WebhookEnv;
let digests: Record<string, string>;
before(async () => {
  env = await startWebhookEnv({ tags: ['1.0.0', '1.1.0', '2.0.0', 'stable'] });
  digests = env.digests;
});
after(() => env?.stop());

const namespace = (): Promise<string> => env.namespace('apply');
const repo = (options: Partial<OciRepositoryOptions> & { namespace: string }): Loose => env.repo(options);
const stored = (ns: string): Promise<Loose> => env.stored(ns);

function skopeoDigest(tag: string): string {
  return execFileSync(
    'skopeo',
    ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${env.registry.host}/acme/app:${tag}`],
    { encoding: 'utf8', timeout: 30_000 },
  ).trim();
}

test('kubectl apply (client-side): etcd holds the digest skopeo reports and the pinwarden.dev annotations', async () => {
  const ns = await namespace();
  await env.cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(repo({ namespace: ns })) });
  const object = await stored(ns);
  assert.equal(object.spec.ref.digest, skopeoDigest('1.0.0'));
  assert.equal(object.spec.ref.tag, '1.0.0', 'the tag is kept');
  assert.equal(object.metadata.annotations['pinwarden.dev/pinned-from'], 'tag:1.0.0');
  assert.match(object.metadata.annotations['pinwarden.dev/pinned-at'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const raw = JSON.parse((await env.cp.etcdGet(`/registry/source.toolkit.fluxcd.io/ocirepositories/${ns}/app`))!);
  assert.equal(raw.spec.ref.digest, skopeoDigest('1.0.0'), 'the bytes in etcd carry the digest');
  assert.equal(raw.metadata.annotations['pinwarden.dev/pinned-from'], 'tag:1.0.0');
  const lastApplied = JSON.parse(object.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
  assert.equal(lastApplied.spec.ref.digest, undefined, 'kubectl recorded what it sent, without the digest');
});

test('kubectl apply --server-side: pinned, and the webhook-added digest belongs to no apply manager', async () => {
  const ns = await namespace();
  await env.cp.kubectlOk(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(repo({ namespace: ns })) });
  const object = await stored(ns);
  assert.equal(object.spec.ref.digest, skopeoDigest('1.0.0'));
  assert.equal(object.metadata.annotations['pinwarden.dev/pinned-from'], 'tag:1.0.0');
  const apply = object.metadata.managedFields.find((entry: Loose) => entry.operation === 'Apply');
  assert.equal(apply.manager, 'kubectl');
  assert.ok(apply.fieldsV1['f:spec']['f:ref']['f:tag'], 'kubectl owns the tag');
  assert.equal(apply.fieldsV1['f:spec']['f:ref']['f:digest'], undefined, 'the digest is not the apply manager’s');
});

test('sticky: an UPDATE that keeps the tag keeps the digest even after the tag moved in the registry', async () => {
  const ns = await namespace();
  await env.cp.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify(repo({ namespace: ns, ref: { tag: 'stable' } })),
  });
  const first = (await stored(ns)).spec.ref.digest;
  assert.equal(first, digests.stable);
  const moved = await env.push('stable', 'moved-stable');
  assert.notEqual(moved, first);
  for (const mode of [[], ['--server-side']]) {
    await env.cp.kubectlOk(['apply', ...mode, '-f', '-'], {
      input: JSON.stringify(
        repo({ namespace: ns, ref: { tag: 'stable' }, extraSpec: { interval: mode.length ? '7m' : '6m' } }),
      ),
    });
    const object = await stored(ns);
    assert.equal(object.spec.interval, mode.length ? '7m' : '6m', 'the update went through');
    assert.equal(object.spec.ref.digest, first, `sticky across ${mode.length ? 'server-side' : 'client-side'} apply`);
  }
});

test('a changed tag pins again, client-side and server-side', async () => {
  for (const mode of [[], ['--server-side']]) {
    const ns = await namespace();
    await env.cp.kubectlOk(['apply', ...mode, '-f', '-'], { input: JSON.stringify(repo({ namespace: ns })) });
    assert.equal((await stored(ns)).spec.ref.digest, digests['1.0.0']);
    await env.cp.kubectlOk(['apply', ...mode, '-f', '-'], {
      input: JSON.stringify(repo({ namespace: ns, ref: { tag: '2.0.0' } })),
    });
    const object = await stored(ns);
    assert.equal(object.spec.ref.digest, digests['2.0.0'], `re-pinned (${mode.join('') || 'client-side'})`);
    assert.equal(object.metadata.annotations['pinwarden.dev/pinned-from'], 'tag:2.0.0');
  }
});

test('a semver ref is pinned to the highest matching tag (the policy allows it)', async () => {
  const ns = await namespace();
  await env.cp.kubectlOk(['apply', '--server-side', '-f', '-'], {
    input: JSON.stringify(repo({ namespace: ns, ref: { semver: '>=1.0.0 <2.0.0' } })),
  });
  const object = await stored(ns);
  assert.equal(object.spec.ref.digest, skopeoDigest('1.1.0'));
  assert.equal(object.spec.ref.semver, '>=1.0.0 <2.0.0');
  assert.equal(object.metadata.annotations['pinwarden.dev/pinned-from'], 'semver:>=1.0.0 <2.0.0 → 1.1.0');
});

test('--dry-run=server gets the same pinned answer, and nothing is stored', async () => {
  const ns = await namespace();
  for (const mode of [[], ['--server-side']]) {
    const out = JSON.parse(
      await env.cp.kubectlOk(['apply', ...mode, '--dry-run=server', '-o', 'json', '-f', '-'], {
        input: JSON.stringify(repo({ namespace: ns })),
      }),
    );
    assert.equal(out.spec.ref.digest, digests['1.0.0']);
    assert.equal(out.metadata.annotations['pinwarden.dev/pinned-from'], 'tag:1.0.0');
    const get = await env.cp.kubectl(['get', 'ocirepositories.source.toolkit.fluxcd.io', '-n', ns, 'app']);
    assert.equal(get.code, 1);
    assert.match(get.stderr, /NotFound/);
  }
});

test('a tag the registry does not have is denied with the reason, and nothing is stored', async () => {
  const ns = await namespace();
  const result = await env.cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify(repo({ namespace: ns, ref: { tag: '9.9.9' } })),
  });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /admission webhook "validate\.pinwarden\.dev" denied the request: .*\n?.*\[digest-required\] spec\.ref/,
  );
  assert.match(result.stderr, /fix: /);
  assert.match(result.stderr, /9\.9\.9/);
  assert.equal((await env.cp.kubectl(['get', 'ocirepositories.source.toolkit.fluxcd.io', '-n', ns, 'app'])).code, 1);
});
