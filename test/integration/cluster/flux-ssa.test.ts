// Issue #8 item 4: Flux's own way of applying. kustomize-controller server-side-applies the Git version
// (tag only, no digest) with field manager `kustomize-controller` and force, preceded by a dryRun apply it
// uses for drift detection, on every reconcile. The webhook-added digest belongs to no apply manager and
// stays on the live object, so these tests prove a tag change in Git still re-pins.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Loose } from '../../helpers/admission.ts';
import { startWebhookEnv } from '../../support/webhook-env.ts';
import type { WebhookEnv } from '../../support/webhook-env.ts';

let env: WebhookEnv;
let api: KubernetesObjectApi;
before(async () => {
  env = await startWebhookEnv();
  api = KubernetesObjectApi.makeApiClient(env.cp.kubeConfig());
});
after(() => env?.stop());

const MANAGER = 'kustomize-controller';

/** What Flux's ssa.ResourceManager compares: labels, annotations, and everything but metadata and status. */
function hasDrifted(existing: Loose, dryRun: Loose): boolean {
  if (existing === undefined || dryRun.metadata?.resourceVersion === undefined) return true;
  if (!isDeepStrictEqual(existing.metadata.labels ?? {}, dryRun.metadata.labels ?? {})) return true;
  if (!isDeepStrictEqual(existing.metadata.annotations ?? {}, dryRun.metadata.annotations ?? {})) return true;
  const strip = ({ metadata: _m, status: _s, ...rest }: Loose): Loose => rest;
  return !isDeepStrictEqual(strip(existing), strip(dryRun));
}

/** One reconcile of one object, as kustomize-controller does it: dry-run apply, drift check, apply if drifted. */
async function reconcile(object: Loose): Promise<{ action: 'created' | 'configured' | 'unchanged'; dryRun: Loose }> {
  const existing = await api
    .read(object as KubernetesObject & { metadata: { name: string; namespace: string } })
    .catch(() => undefined);
  const dryRun = await api.patch(
    object as KubernetesObject,
    undefined,
    'All',
    MANAGER,
    true,
    PatchStrategy.ServerSideApply,
  );
  if (!hasDrifted(existing, dryRun)) return { action: 'unchanged', dryRun };
  await api.patch(object as KubernetesObject, undefined, undefined, MANAGER, true, PatchStrategy.ServerSideApply);
  return { action: existing ? 'configured' : 'created', dryRun };
}

function gitVersion(ns: string, tag: string): Loose {
  const object = env.repo({ namespace: ns, ref: { tag } });
  object.metadata.labels = {
    'kustomize.toolkit.fluxcd.io/name': 'apps',
    'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
  };
  return object;
}

test('first reconcile: the dry run already shows the pin, and the created object is pinned', async () => {
  const ns = await env.namespace('flux');
  const { action, dryRun } = await reconcile(gitVersion(ns, '1.0.0'));
  assert.equal(action, 'created');
  assert.equal(dryRun.spec.ref.digest, env.digests['1.0.0'], 'the dryRun apply went through the mutating webhook');
  const live = await env.stored(ns);
  assert.equal(live.spec.ref.digest, env.digests['1.0.0']);
  assert.equal(live.metadata.annotations['pinwarden.dev/pinned-from'], 'tag:1.0.0');
});

test('unchanged Git: neither the dry run nor a forced apply shows drift or moves the stored digest', async () => {
  const ns = await env.namespace('flux');
  await reconcile(gitVersion(ns, '1.1.0'));
  const before_ = await env.stored(ns);
  // Even a tag moved in the registry does not matter while Git keeps the tag (sticky).
  await env.push('1.1.0', 'moved-1.1.0');
  for (let round = 0; round < 3; round++) {
    const { action } = await reconcile(gitVersion(ns, '1.1.0'));
    assert.equal(action, 'unchanged', `reconcile ${round + 1} saw no drift`);
  }
  await api.patch(
    gitVersion(ns, '1.1.0') as KubernetesObject,
    undefined,
    undefined,
    MANAGER,
    true,
    PatchStrategy.ServerSideApply,
  );
  const after_ = await env.stored(ns);
  assert.equal(after_.spec.ref.digest, before_.spec.ref.digest);
  // The apiserver may re-encode the stored bytes (resourceVersion can move once), but nothing Flux or
  // pinwarden cares about changes: same spec (generation), same digest, same pin annotations.
  assert.equal(after_.metadata.generation, before_.metadata.generation, 'the spec did not change');
  assert.deepEqual(after_.metadata.annotations, before_.metadata.annotations, 'pinned-from and pinned-at kept');
  const apply = after_.metadata.managedFields.find(
    (entry: Loose) => entry.manager === MANAGER && entry.operation === 'Apply',
  );
  assert.ok(apply.fieldsV1['f:spec']['f:ref']['f:tag']);
  assert.equal(apply.fieldsV1['f:spec']['f:ref']['f:digest'], undefined, 'the digest is owned by no apply manager');
});

test('a new tag in Git: drift, and the stored object is pinned to the new tag’s digest', async () => {
  const ns = await env.namespace('flux');
  await reconcile(gitVersion(ns, '1.0.0'));
  const { action, dryRun } = await reconcile(gitVersion(ns, '2.0.0'));
  assert.equal(action, 'configured');
  assert.equal(dryRun.spec.ref.digest, env.digests['2.0.0'], 'the dry run already shows the new pin');
  const live = await env.stored(ns);
  assert.equal(live.spec.ref.tag, '2.0.0');
  assert.equal(live.spec.ref.digest, env.digests['2.0.0'], 'never the old digest');
  assert.equal(live.metadata.annotations['pinwarden.dev/pinned-from'], 'tag:2.0.0');
  assert.equal((await reconcile(gitVersion(ns, '2.0.0'))).action, 'unchanged', 'and then steady');
});
