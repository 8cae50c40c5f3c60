/**
 * A tiny HTTPS admission webhook for control-plane tests: records every AdmissionReview the apiserver sends
 * (with the request path and query), and answers with `handler` — slow, mutating, or just allowing.
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestCa } from '../helpers/certs.ts';
import type { TestCa } from '../helpers/certs.ts';
import type { Loose } from '../helpers/admission.ts';
import type { ControlPlane } from './control-plane.ts';
import { closeServer } from '../helpers/close-server.ts';

export interface CapturedReview {
  path: string;
  query: URLSearchParams;
  review: Loose;
}

/** The `response` part of an AdmissionReview (uid is filled in). */
export type Handler = (
  review: Loose,
  captured: CapturedReview,
) => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface TestWebhook {
  url: string;
  ca: TestCa;
  captured: CapturedReview[];
  stop(): Promise<void>;
}

export const allowAll: Handler = () => ({ allowed: true });

/** A JSONPatch response (base64), as a mutating webhook answers. */
export function patchResponse(ops: unknown[]): Record<string, unknown> {
  return { allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') };
}

export async function startTestWebhook(handler: Handler = allowAll): Promise<TestWebhook> {
  const ca = await createTestCa('test webhook CA');
  const serving = await ca.issue({ commonName: 'test-webhook', usage: 'server', ips: ['127.0.0.1'] });
  const captured: CapturedReview[] = [];
  const server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'https://127.0.0.1');
        let review: Loose;
        try {
          review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          res.writeHead(400).end('not JSON');
          return;
        }
        const entry = { path: url.pathname, query: url.searchParams, review };
        captured.push(entry);
        const response = await handler(review, entry);
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: { uid: review?.request?.uid, ...response },
          }),
        );
      })().catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    ca,
    captured,
    stop: () => closeServer(server),
  };
}

/**
 * A second mutating webhook registered after pinwarden's (configurations run in name order: `z-retagger`), for
 * OCIRepositories in namespaces labelled `pinwarden.dev/test: retag`; it answers with `handler` (a tenant's own
 * defaulting webhook that moves spec.ref after the pin).
 */
export async function startRetagger(cp: ControlPlane, handler: Handler): Promise<TestWebhook> {
  const retagger = await startTestWebhook(handler);
  await cp.kubectlOk(['apply', '--server-side', '--field-manager=pinwarden-test', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'z-retagger' },
      webhooks: [
        {
          name: 'retag.test.pinwarden.dev',
          clientConfig: {
            url: `${retagger.url}/mutate`,
            caBundle: Buffer.from(retagger.ca.certPem).toString('base64'),
          },
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Fail',
          timeoutSeconds: 5,
          reinvocationPolicy: 'Never',
          namespaceSelector: { matchLabels: { 'pinwarden.dev/test': 'retag' } },
          rules: [
            {
              apiGroups: ['source.toolkit.fluxcd.io'],
              apiVersions: ['*'],
              operations: ['CREATE', 'UPDATE'],
              resources: ['ocirepositories'],
            },
          ],
        },
      ],
    }),
  });
  return retagger;
}
