// Issue #7 (gap found in review): with pinwarden's mutating webhook at reinvocationPolicy Never, a later
// mutating webhook that moves spec.ref.tag after the pin leaves the old digest and a pinned-from annotation
// naming the old tag. /validate (rule pinned-from-mismatch) denies that object; nothing is stored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Loose } from '../../helpers/admission.ts';
import { patchResponse, startRetagger } from '../../support/test-webhook.ts';
import type { TestWebhook } from '../../support/test-webhook.ts';
import { startWebhookEnv } from '../../support/webhook-env.ts';
import type { WebhookEnv } from '../../support/webhook-env.ts';

let env: WebhookEnv;
let retagger: TestWebhook;

before(async () => {
  env = await startWebhookEnv({ webhooks: { reinvocationPolicy: 'Never' } });
  // Called after pinwarden (configurations run in name order): moves the tag 1.0.0 → 2.0.0, or the range.
  retagger = await startRetagger(env.cp, (review: Loose) => {
    const ref = review.request.object?.spec?.ref;
    if (ref?.tag === '1.0.0') return patchResponse([{ op: 'replace', path: '/spec/ref/tag', value: '2.0.0' }]);
    if (ref?.semver === '<2.0.0') return patchResponse([{ op: 'replace', path: '/spec/ref/semver', value: '>=2.0.0' }]);
    return { allowed: true };
  });
});
after(async () => {
  await retagger?.stop();
  await env?.stop();
});

async function retagNamespace(): Promise<string> {
  const ns = await env.namespace('retag', { 'pinwarden.dev/test': 'retag' });
  let seen = retagger.captured.length;
  const start = seen;
  for (let attempt = 0; attempt < 50 && seen === start; attempt++) {
    await env.cp.kubectl(['create', '--dry-run=server', '-f', '-'], {
      input: JSON.stringify(env.repo({ namespace: ns, name: 'probe', ref: { tag: '1.1.0' } })),
    });
    seen = retagger.captured.length;
    if (seen === start) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.ok(seen > start, 'the retagger is registered and called');
  return ns;
}

test('the pinwarden mutating webhook is registered with reinvocationPolicy Never', async () => {
  const config = JSON.parse(await env.cp.kubectlOk(['get', 'mutatingwebhookconfiguration', 'pinwarden', '-o', 'json']));
  assert.equal(config.webhooks[0].reinvocationPolicy, 'Never');
});

test('a later webhook moves the tag after the pin: pinwarden is not called again, /validate denies the stale digest, nothing is stored', async () => {
  const ns = await retagNamespace();
  const result = await env.cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify(env.repo({ namespace: ns, ref: { tag: '1.0.0' } })),
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /admission webhook "validate\.pinwarden\.dev" denied the request: pinwarden denied OCIRepository\//,
  );
  const line = result.stderr.split('\n').find((text) => text.includes('[pinned-from-mismatch]'));
  assert.ok(line, result.stderr);
  assert.match(line, /stale pin: spec\.ref\.digest was pinned from "tag:1\.0\.0" but spec\.ref names "tag:2\.0\.0"/);
  assert.match(line, /; fix: \S/);
  const seenByRetagger = retagger.captured.at(-1)!.review.request.object;
  assert.equal(seenByRetagger.spec.ref.digest, env.digests['1.0.0'], 'the retagger saw pinwarden’s pin of 1.0.0');
  assert.equal(seenByRetagger.metadata.annotations['pinwarden.dev/pinned-from'], 'tag:1.0.0');
  const get = await env.cp.kubectl(['get', 'ocirepositories.source.toolkit.fluxcd.io', '-n', ns, 'app']);
  assert.match(get.stderr, /NotFound/);
});

test('the same for a semver range the later webhook rewrites', async () => {
  const ns = await retagNamespace();
  const result = await env.cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify(env.repo({ namespace: ns, ref: { semver: '<2.0.0' } })),
  });
  assert.equal(result.code, 1, result.stderr);
  const line = result.stderr.split('\n').find((text) => text.includes('[pinned-from-mismatch]'));
  assert.ok(line, result.stderr);
  assert.match(line, /pinned from "semver:<2\.0\.0" but spec\.ref names "semver:>=2\.0\.0"/);
  assert.equal(
    retagger.captured.at(-1)!.review.request.object.spec.ref.digest,
    env.digests['1.1.0'],
    'pinwarden pinned the range to 1.1.0 first',
  );
});

test('control: the same object where no webhook rewrites the ref is pinned and stored', async () => {
  const ns = await env.namespace('plain');
  await env.cp.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify(env.repo({ namespace: ns, ref: { tag: '1.0.0' } })),
  });
  const stored = await env.stored(ns);
  assert.equal(stored.spec.ref.digest, env.digests['1.0.0']);
  assert.equal(stored.metadata.annotations['pinwarden.dev/pinned-from'], 'tag:1.0.0');
});
