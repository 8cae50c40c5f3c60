// Issue #8 item 4: both served versions (v1 and the deprecated v1beta2) are pinned through the real
// apiserver, and the AdmissionReviews it really sends are captured and compared with the hand-written
// fixtures of test/helpers/admission.ts (which were corrected where they differed: options.dryRun ["All"]
// on dry runs, DeleteOptions on DELETE, and no PatchOptions ever).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { admissionReview } from '../../helpers/admission.ts';
import type { Loose } from '../../helpers/admission.ts';
import { startTestWebhook } from '../../support/test-webhook.ts';
import type { CapturedReview, TestWebhook } from '../../support/test-webhook.ts';
import { startWebhookEnv } from '../../support/webhook-env.ts';
import type { WebhookEnv } from '../../support/webhook-env.ts';

let env: WebhookEnv;
let capture: TestWebhook;

before(async () => {
  env = await startWebhookEnv({ controlPlane: { fluxCrds: 'with-v1beta2' } });
  capture = await startTestWebhook();
  // Runs after pinwarden's mutating hook (configurations are called in name order), only in namespaces
  // labelled for it, and for DELETE too.
  await env.cp.kubectlOk(['apply', '--server-side', '--field-manager=pinwarden-test', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'zz-capture' },
      webhooks: [
        {
          name: 'capture.test.pinwarden.dev',
          clientConfig: { url: `${capture.url}/capture`, caBundle: Buffer.from(capture.ca.certPem).toString('base64') },
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Fail',
          timeoutSeconds: 7,
          namespaceSelector: { matchLabels: { 'pinwarden.dev/test': 'capture' } },
          rules: [
            {
              apiGroups: ['source.toolkit.fluxcd.io'],
              apiVersions: ['v1', 'v1beta2'],
              operations: ['CREATE', 'UPDATE', 'DELETE'],
              resources: ['ocirepositories'],
            },
          ],
        },
      ],
    }),
  });
});
after(async () => {
  await capture?.stop();
  await env?.stop();
});

for (const version of ['v1', 'v1beta2']) {
  test(`source.toolkit.fluxcd.io/${version}: applied as ${version}, stored pinned, read back in both versions`, async () => {
    const ns = await env.namespace(`ver-${version}`);
    const result = await env.cp.kubectl(['apply', '--server-side', '-f', '-'], {
      input: JSON.stringify(env.repo({ namespace: ns, apiVersion: `source.toolkit.fluxcd.io/${version}` })),
    });
    assert.equal(result.code, 0, result.stderr);
    if (version === 'v1beta2')
      assert.match(result.stderr, /v1beta2 OCIRepository is deprecated/, 'the CRD’s own deprecation warning');
    for (const readAs of ['v1', 'v1beta2']) {
      const object = await env.stored(ns, 'app', readAs);
      assert.equal(object.apiVersion, `source.toolkit.fluxcd.io/${readAs}`);
      assert.equal(object.spec.ref.digest, env.digests['1.0.0'], `digest visible through ${readAs}`);
      assert.equal(object.metadata.annotations['pinwarden.dev/pinned-from'], 'tag:1.0.0');
    }
  });
}

/** Waits for the capture hook to be live, then runs `act` and returns what it captured meanwhile. */
async function captured(act: () => Promise<unknown>): Promise<CapturedReview[]> {
  const from = capture.captured.length;
  await act();
  return capture.captured.slice(from);
}

/** The envelope: everything but the object bodies, uid and userInfo (test-specific). */
function envelope(review: Loose): Loose {
  const { uid: _uid, object: _object, oldObject, userInfo: _userInfo, ...rest } = review.request;
  return {
    apiVersion: review.apiVersion,
    kind: review.kind,
    request: { ...rest, oldObject: oldObject === null ? null : 'present' },
  };
}

test('real AdmissionReviews match the hand-written fixtures (create, update, server-side apply, dry run, delete, v1beta2)', async () => {
  const ns = await env.namespace('capture', { 'pinwarden.dev/test': 'capture' });
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = await captured(() =>
      env.cp.kubectl(['create', '--dry-run=server', '-f', '-'], {
        input: JSON.stringify(env.repo({ namespace: ns, name: 'probe' })),
      }),
    );
    if (probe.length > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const object = (name: string, apiVersion = 'source.toolkit.fluxcd.io/v1'): Loose =>
    env.repo({ namespace: ns, name, apiVersion });
  const cases: Array<{ name: string; act: () => Promise<unknown>; expected: (got: Loose) => Loose }> = [
    {
      name: 'kubectl apply (create)',
      act: () => env.cp.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(object('csa')) }),
      expected: (got) => admissionReview(got.request.object, {}),
    },
    {
      name: 'kubectl apply (update)',
      act: () =>
        env.cp.kubectlOk(['apply', '-f', '-'], {
          input: JSON.stringify({ ...object('csa'), spec: { ...object('csa').spec, interval: '9m' } }),
        }),
      expected: (got) =>
        admissionReview(got.request.object, {
          operation: 'UPDATE',
          oldObject: got.request.oldObject,
          options: {
            kind: 'UpdateOptions',
            apiVersion: 'meta.k8s.io/v1',
            fieldManager: 'kubectl-client-side-apply',
            fieldValidation: 'Strict',
          },
        }),
    },
    {
      name: 'server-side apply by kustomize-controller, dry run (create)',
      act: () =>
        env.cp.kubectlOk(
          ['apply', '--server-side', '--field-manager=kustomize-controller', '--dry-run=server', '-f', '-'],
          { input: JSON.stringify(object('ssa')) },
        ),
      expected: (got) =>
        admissionReview(got.request.object, {
          dryRun: true,
          options: {
            kind: 'CreateOptions',
            apiVersion: 'meta.k8s.io/v1',
            dryRun: ['All'],
            fieldManager: 'kustomize-controller',
            fieldValidation: 'Strict',
          },
        }),
    },
    {
      name: 'kubectl create --dry-run=server (default options)',
      act: () => env.cp.kubectlOk(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(object('dry')) }),
      expected: (got) => {
        const review = admissionReview(got.request.object, { dryRun: true });
        review.request.options.fieldManager = 'kubectl-create';
        return review;
      },
    },
    {
      name: 'v1beta2 server-side apply (update)',
      act: async () => {
        await env.cp.kubectlOk(['apply', '--server-side', '-f', '-'], {
          input: JSON.stringify(object('beta', 'source.toolkit.fluxcd.io/v1beta2')),
        });
        capture.captured.length = Math.max(0, capture.captured.length - 1);
        await env.cp.kubectlOk(['apply', '--server-side', '-f', '-'], {
          input: JSON.stringify({
            ...object('beta', 'source.toolkit.fluxcd.io/v1beta2'),
            spec: { ...object('beta').spec, interval: '8m' },
          }),
        });
      },
      expected: (got) =>
        admissionReview(got.request.object, {
          operation: 'UPDATE',
          oldObject: got.request.oldObject,
          options: {
            kind: 'UpdateOptions',
            apiVersion: 'meta.k8s.io/v1',
            fieldManager: 'kubectl',
            fieldValidation: 'Strict',
          },
        }),
    },
    {
      name: 'kubectl delete',
      act: () => env.cp.kubectlOk(['delete', 'ocirepositories.source.toolkit.fluxcd.io', '-n', ns, 'csa']),
      expected: (got) => admissionReview(null, { operation: 'DELETE', oldObject: got.request.oldObject }),
    },
  ];
  for (const { name, act, expected } of cases) {
    const reviews = await captured(act);
    assert.equal(reviews.length, 1, `${name}: one review`);
    const got = reviews[0]!.review;
    assert.deepEqual(envelope(got), envelope(expected(got)), `${name}: the fixture matches what kube-apiserver sent`);
    assert.match(reviews[0]!.query.get('timeout') ?? '', /^7s$/, `${name}: ?timeout= carries timeoutSeconds`);
    if (got.request.operation !== 'DELETE') {
      assert.equal(got.request.object.metadata.namespace, ns, 'the apiserver fills metadata.namespace');
      assert.equal(
        got.request.object.spec.ref.digest,
        env.digests['1.0.0'],
        'the validating hooks see the pinned object',
      );
    }
  }
});
