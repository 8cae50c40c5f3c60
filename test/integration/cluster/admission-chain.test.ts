// Issue #8 item 4: what the apiserver decides before and around pinwarden. matchConditions (CEL) and
// namespaceSelector are evaluated by the apiserver itself (pinwarden never sees the object), and
// reinvocationPolicy IfNeeded calls pinwarden again after a later mutating webhook changed the tag.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Loose } from '../../helpers/admission.ts';
import { reviewsAnswered } from '../../support/pinwarden.ts';
import { patchResponse, startRetagger } from '../../support/test-webhook.ts';
import type { TestWebhook } from '../../support/test-webhook.ts';
import { startWebhookEnv } from '../../support/webhook-env.ts';
import type { WebhookEnv } from '../../support/webhook-env.ts';

let env: WebhookEnv;
let retagger: TestWebhook;

const MATCH_CONDITIONS = [
  {
    name: 'not-opted-out',
    expression: "!has(object.metadata.labels) || !('pinwarden.dev/skip' in object.metadata.labels)",
  },
];
const NAMESPACE_SELECTOR = { matchExpressions: [{ key: 'pinwarden.dev/ignore', operator: 'DoesNotExist' }] };

before(async () => {
  env = await startWebhookEnv({
    webhooks: {
      matchConditions: MATCH_CONDITIONS,
      namespaceSelector: NAMESPACE_SELECTOR,
      reinvocationPolicy: 'IfNeeded',
    },
  });
  // A second mutating webhook, called after pinwarden (configurations run in name order), that moves the
  // tag 1.0.0 → 2.0.0 once, the way a tenant's own defaulting webhook might.
  retagger = await startRetagger(env.cp, (review: Loose) => {
    const object = review.request.object;
    return object?.spec?.ref?.tag === '1.0.0'
      ? patchResponse([{ op: 'replace', path: '/spec/ref/tag', value: '2.0.0' }])
      : { allowed: true };
  });
});
after(async () => {
  await retagger?.stop();
  await env?.stop();
});

test('matchConditions (CEL): an opted-out object never reaches pinwarden, the others are pinned', async () => {
  const ns = await env.namespace('cel');
  const before_ = await reviewsAnswered(env.pw);
  const skipped = env.repo({ namespace: ns, labels: { 'pinwarden.dev/skip': 'true' }, verify: null });
  await env.cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(skipped) });
  assert.equal(await reviewsAnswered(env.pw), before_, 'the apiserver did not call pinwarden');
  const object = await env.stored(ns);
  assert.equal(object.spec.ref.digest, undefined);
  assert.equal(object.spec.verify, undefined, 'admitted without verify: pinwarden never judged it');
  const governed = env.repo({ namespace: ns, name: 'governed' });
  await env.cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(governed) });
  assert.equal((await env.stored(ns, 'governed')).spec.ref.digest, env.digests['1.0.0']);
  assert.ok((await reviewsAnswered(env.pw)) >= before_ + 2, 'mutate and validate were called for the governed object');
});

test('namespaceSelector: a namespace labelled out is never sent to pinwarden', async () => {
  const ns = await env.namespace('ignored', { 'pinwarden.dev/ignore': 'true' });
  const before_ = await reviewsAnswered(env.pw);
  await env.cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(env.repo({ namespace: ns, verify: null })) });
  assert.equal(await reviewsAnswered(env.pw), before_);
  assert.equal((await env.stored(ns)).spec.ref.digest, undefined);
});

test('reinvocationPolicy IfNeeded: a later webhook changes the tag, pinwarden runs again, the object ends pinned to the new tag', async () => {
  const ns = await env.namespace('retag', { 'pinwarden.dev/test': 'retag' });
  let seen = 0;
  for (let attempt = 0; attempt < 50 && seen === 0; attempt++) {
    await env.cp.kubectl(['create', '--dry-run=server', '-f', '-'], {
      input: JSON.stringify(env.repo({ namespace: ns, name: 'probe' })),
    });
    seen = retagger.captured.length;
    if (seen === 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.ok(seen > 0, 'the retagger is registered');
  await env.cp.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify(env.repo({ namespace: ns, ref: { tag: '1.0.0' } })),
  });
  const object = await env.stored(ns);
  assert.equal(object.spec.ref.tag, '2.0.0', 'the second webhook moved the tag');
  assert.equal(object.spec.ref.digest, env.digests['2.0.0'], 'pinwarden, reinvoked, pinned the new tag');
  assert.equal(object.metadata.annotations['pinwarden.dev/pinned-from'], 'tag:2.0.0');
  const last = retagger.captured.at(-1)!.review.request.object;
  assert.equal(last.spec.ref.digest, env.digests['1.0.0'], 'the retagger saw pinwarden’s first pin');
});

test('the apiserver stored the configuration as registered (matchConditions, reinvocationPolicy, namespaceSelector)', async () => {
  const config = JSON.parse(await env.cp.kubectlOk(['get', 'mutatingwebhookconfiguration', 'pinwarden', '-o', 'json']));
  assert.deepEqual(config.webhooks[0].matchConditions, MATCH_CONDITIONS);
  assert.equal(config.webhooks[0].reinvocationPolicy, 'IfNeeded');
  assert.deepEqual(config.webhooks[0].namespaceSelector, NAMESPACE_SELECTOR);
});
