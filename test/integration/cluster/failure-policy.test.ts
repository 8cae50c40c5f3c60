// Issue #8 item 4: the apiserver's side of failure. pinwarden stopped: the mutating hook (failurePolicy
// Ignore) lets the object through unpinned, and the validating hook (Fail) denies it. A webhook slower than
// timeoutSeconds is cut off by the apiserver; pinwarden itself answers before the apiserver's `?timeout=`
// runs out even when the registry hangs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { registerWebhooks, startPinwarden, waitForWebhooks } from '../../support/pinwarden.ts';
import { loopbackPolicy } from '../../support/policies.ts';
import { startTestWebhook } from '../../support/test-webhook.ts';
import type { TestWebhook } from '../../support/test-webhook.ts';
import { startWebhookEnv } from '../../support/webhook-env.ts';
import type { WebhookEnv } from '../../support/webhook-env.ts';

const WEBHOOK_TIMEOUT_SECONDS = 2;
let env: WebhookEnv;
let hang: Server;
const sockets: Socket[] = [];
let slow: TestWebhook;

before(async () => {
  hang = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
  const hangHost = `127.0.0.1:${(hang.address() as AddressInfo).port}`;
  env = await startWebhookEnv({
    policy: { extraRegistries: [hangHost], registryTimeoutSeconds: 10 },
    webhooks: { timeoutSeconds: WEBHOOK_TIMEOUT_SECONDS },
  });
  slow = await startTestWebhook(async () => {
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    return { allowed: true };
  });
});
after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => hang?.close(resolve));
  await slow?.stop();
  await env?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a hanging registry: pinwarden answers within the apiserver timeout, with its own reason', async () => {
  const ns = await env.namespace('hang');
  const hangHost = `127.0.0.1:${(hang.address() as AddressInfo).port}`;
  const started = Date.now();
  const result = await env.cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify(env.repo({ namespace: ns, url: `oci://${hangHost}/acme/app` })),
  });
  const elapsed = Date.now() - started;
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /admission webhook "validate\.pinwarden\.dev" denied the request: /,
    'pinwarden answered; the apiserver did not time it out',
  );
  assert.doesNotMatch(result.stderr, /failed calling webhook/);
  assert.match(result.stderr, /\[digest-required\].*\[PW_DEADLINE\]/);
  assert.ok(elapsed < 20_000, `answered in ${elapsed} ms (each hook is bounded by ${WEBHOOK_TIMEOUT_SECONDS} s)`);
});

test('a webhook slower than timeoutSeconds is cut off by the apiserver (failurePolicy Fail denies)', async () => {
  const ns = await env.namespace('slow', { 'pinwarden.dev/test': 'slow' });
  await env.cp.kubectlOk(['apply', '--server-side', '--field-manager=pinwarden-test', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'slow' },
      webhooks: [
        {
          name: 'slow.test.pinwarden.dev',
          clientConfig: { url: `${slow.url}/validate`, caBundle: Buffer.from(slow.ca.certPem).toString('base64') },
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Fail',
          timeoutSeconds: 1,
          namespaceSelector: { matchLabels: { 'pinwarden.dev/test': 'slow' } },
          rules: [
            {
              apiGroups: ['source.toolkit.fluxcd.io'],
              apiVersions: ['*'],
              operations: ['CREATE'],
              resources: ['ocirepositories'],
            },
          ],
        },
      ],
    }),
  });
  let stderr = '';
  let elapsed = 0;
  for (let attempt = 0; attempt < 50 && !stderr.includes('slow.test.pinwarden.dev'); attempt++) {
    const started = Date.now();
    const result = await env.cp.kubectl(['create', '--dry-run=server', '-f', '-'], {
      input: JSON.stringify(env.repo({ namespace: ns })),
    });
    elapsed = Date.now() - started;
    stderr = result.stderr;
    if (!stderr.includes('slow.test.pinwarden.dev')) await sleep(200);
  }
  assert.match(
    stderr,
    /failed calling webhook "slow\.test\.pinwarden\.dev": .*(context deadline exceeded|Client\.Timeout|timeout)/i,
  );
  assert.ok(elapsed < 7_000, `the apiserver gave up after its 1 s timeout, not the webhook's 8 s (${elapsed} ms)`);
  assert.ok(slow.captured.length >= 1);
  assert.equal(slow.captured[0]!.query.get('timeout'), '1s', 'the apiserver tells the webhook its budget in ?timeout=');
  await env.cp.kubectlOk(['delete', 'validatingwebhookconfiguration', 'slow']);
});

test('pinwarden stopped: Ignore admits unpinned past the mutating hook, and the validating hook (Fail) denies', async () => {
  const ns = await env.namespace('down');
  const port = env.pw.port;
  const ca = env.pw.ca;
  await env.pw.stop();
  const denied = await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(env.repo({ namespace: ns })) });
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /failed calling webhook "validate\.pinwarden\.dev"/);
  assert.doesNotMatch(denied.stderr, /mutate\.pinwarden\.dev/, 'the mutating hook failed open (Ignore)');
  // With the validating hook failing open too, the object is stored exactly as sent: unpinned.
  await registerWebhooks(env.cp, env.pw, {
    timeoutSeconds: WEBHOOK_TIMEOUT_SECONDS,
    validatingFailurePolicy: 'Ignore',
  });
  let stored = false;
  for (let attempt = 0; attempt < 50 && !stored; attempt++) {
    stored =
      (await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(env.repo({ namespace: ns })) })).code === 0;
    if (!stored) await sleep(200);
  }
  assert.ok(stored, 'admitted once both hooks fail open');
  const object = await env.stored(ns);
  assert.equal(object.spec.ref.digest, undefined, 'unpinned: nobody pinned it');
  assert.equal(object.metadata.annotations?.['pinwarden.dev/pinned-from'], undefined);
  // Back up on the same URL with the same CA: the next UPDATE pins it.
  env.pw = await startPinwarden({
    policy: loopbackPolicy(env.registry.host),
    kubeconfig: env.cp.adminKubeconfig,
    ca,
    port,
  });
  await registerWebhooks(env.cp, env.pw, { timeoutSeconds: WEBHOOK_TIMEOUT_SECONDS });
  await waitForWebhooks(env.cp, env.pw);
  await env.cp.kubectlOk(['annotate', 'ocirepositories.source.toolkit.fluxcd.io', '-n', ns, 'app', 'touched=yes']);
  assert.equal((await env.stored(ns)).spec.ref.digest, env.digests['1.0.0'], 'pinned on the next UPDATE');
});
