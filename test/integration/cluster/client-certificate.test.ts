// Issue #7 item 4, through a real kube-apiserver: `serve --client-ca-file` accepts only callers presenting a
// client certificate from that CA, and the apiserver presents one because its AdmissionConfiguration
// (WebhookAdmissionConfiguration.kubeConfigFile) names pinwarden's host:port with a client certificate.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCa } from '../../helpers/certs.ts';
import type { TestCa } from '../../helpers/certs.ts';
import { freePorts, startControlPlane } from '../../support/control-plane.ts';
import type { ControlPlane } from '../../support/control-plane.ts';
import { registerWebhooks, startPinwarden, waitForWebhooks } from '../../support/pinwarden.ts';
import type { Pinwarden } from '../../support/pinwarden.ts';
import { loopbackPolicy, ociRepositoryObject } from '../../support/policies.ts';

let cp: ControlPlane;
let pw: Pinwarden;
let dir: string;
let clientCa: TestCa;
let port: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pinwarden-client-cert-'));
  clientCa = await createTestCa('apiserver webhook client CA');
  const apiserverClient = await clientCa.issue({ commonName: 'kube-apiserver', usage: 'client' });
  [port] = (await freePorts(1)) as [number];
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  // The apiserver picks the user whose name is the webhook's host:port (no wildcard here, on purpose).
  writeFileSync(
    join(dir, 'webhook.kubeconfig'),
    [
      'apiVersion: v1',
      'kind: Config',
      'users:',
      `- name: "127.0.0.1:${port}"`,
      '  user:',
      `    client-certificate-data: ${b64(apiserverClient.certPem)}`,
      `    client-key-data: ${b64(apiserverClient.keyPem)}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'admission.yaml'),
    [
      'apiVersion: apiserver.config.k8s.io/v1',
      'kind: AdmissionConfiguration',
      'plugins:',
      ...['ValidatingAdmissionWebhook', 'MutatingAdmissionWebhook'].flatMap((name) => [
        `- name: ${name}`,
        '  configuration:',
        '    apiVersion: apiserver.config.k8s.io/v1',
        '    kind: WebhookAdmissionConfiguration',
        `    kubeConfigFile: ${join(dir, 'webhook.kubeconfig')}`,
      ]),
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'client-ca.crt'), clientCa.certPem);
  cp = await startControlPlane({ apiserverArgs: [`--admission-control-config-file=${join(dir, 'admission.yaml')}`] });
  pw = await startPinwarden({
    policy: loopbackPolicy('127.0.0.1:9'),
    kubeconfig: cp.adminKubeconfig,
    port,
    extraArgs: ['--client-ca-file', join(dir, 'client-ca.crt')],
  });
  await registerWebhooks(cp, pw);
  await waitForWebhooks(cp, pw);
});
after(async () => {
  await pw?.stop();
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const unsigned = (ns: string): Record<string, unknown> =>
  ociRepositoryObject({
    name: 'app',
    namespace: ns,
    url: 'oci://127.0.0.1:9/acme/app',
    ref: { tag: '1.0.0' },
    verify: null,
  });

test('the apiserver presents its client certificate: pinwarden answers (and denies on policy grounds)', async () => {
  await cp.kubectlOk(['create', 'namespace', 'mtls']);
  const result = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(unsigned('mtls')) });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /admission webhook "validate\.pinwarden\.dev" denied the request: .*\n?.*\[verify-required\]/,
  );
});

test('a webhook URL the kubeconfig does not name gets no client certificate, and the TLS handshake is refused', async () => {
  await registerWebhooks(cp, pw, { url: `https://localhost:${port}` });
  let stderr = '';
  for (let attempt = 0; attempt < 50 && !stderr.includes('failed calling webhook'); attempt++) {
    stderr = (
      await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(unsigned('default')) })
    ).stderr;
    if (!stderr.includes('failed calling webhook')) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.match(stderr, /failed calling webhook "validate\.pinwarden\.dev"/);
  // TLS 1.3 reports a refused client certificate after the handshake, so Go's client sees one of these.
  assert.match(stderr, /certificate required|bad certificate|tls: |EOF|connection reset|closed network connection/i);
  await registerWebhooks(cp, pw);
});
