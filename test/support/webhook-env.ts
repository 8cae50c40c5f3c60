/**
 * The usual set-up of a webhook test against the real apiserver: a control plane, a TLS docker-registry
 * with tags pushed, the real `pinwarden serve` with a loopback policy, and its webhook configurations
 * registered (and answering). Each namespace it makes holds `registry-ca` (the registry's CA, for
 * `spec.certSecretRef`, read by pinwarden through the apiserver).
 */
import { startRegistry } from '../helpers/registry.ts';
import type { TestRegistry } from '../helpers/registry.ts';
import { pushImage } from '../helpers/push-image.ts';
import type { Loose } from '../helpers/admission.ts';
import { startControlPlane } from './control-plane.ts';
import type { ControlPlane, StartControlPlaneOptions } from './control-plane.ts';
import { registerWebhooks, startPinwarden, waitForWebhooks } from './pinwarden.ts';
import type { Pinwarden, WebhookOptions } from './pinwarden.ts';
import { loopbackPolicy, ociRepositoryObject } from './policies.ts';
import type { LoopbackPolicyOptions, OciRepositoryOptions } from './policies.ts';

export interface WebhookEnvOptions {
  controlPlane?: StartControlPlaneOptions;
  policy?: LoopbackPolicyOptions;
  webhooks?: WebhookOptions | false;
  tags?: string[];
}

export interface WebhookEnv {
  cp: ControlPlane;
  registry: TestRegistry;
  pw: Pinwarden;
  /** tag → manifest digest as pushed (kept current by `push`). */
  digests: Record<string, string>;
  push(tag: string, seed?: string): Promise<string>;
  namespace(prefix?: string, labels?: Record<string, string>): Promise<string>;
  /** An OCIRepository `app` on the registry's `acme/app`, tag 1.0.0, keyless verify, certSecretRef registry-ca. */
  repo(options: Partial<OciRepositoryOptions> & { namespace: string }): Record<string, Loose>;
  stored(namespace: string, name?: string, version?: string): Promise<Loose>;
  stop(): Promise<void>;
}

export async function startWebhookEnv(options: WebhookEnvOptions = {}): Promise<WebhookEnv> {
  const [cp, registry] = await Promise.all([startControlPlane(options.controlPlane), startRegistry({ mode: 'tls' })]);
  let pw: Pinwarden | undefined;
  try {
    const digests: Record<string, string> = {};
    const push = async (tag: string, seed = tag): Promise<string> => {
      digests[tag] = await pushImage(
        { host: registry.host, path: 'acme/app', tls: { ca: registry.tls!.caPem } },
        tag,
        seed,
      );
      return digests[tag];
    };
    for (const tag of options.tags ?? ['1.0.0', '1.1.0', '2.0.0']) await push(tag);
    pw = await startPinwarden({
      policy: loopbackPolicy(registry.host, options.policy),
      kubeconfig: cp.adminKubeconfig,
    });
    if (options.webhooks !== false) {
      await registerWebhooks(cp, pw, options.webhooks ?? {});
      await waitForWebhooks(cp, pw);
    }
    let count = 0;
    const env: WebhookEnv = {
      cp,
      registry,
      pw,
      digests,
      push,
      async namespace(prefix = 'ns', labels = {}) {
        const name = `${prefix}-${++count}`;
        const labelArgs = Object.entries(labels).map(([key, value]) => `${key}=${value}`);
        await cp.kubectlOk(['create', 'namespace', name]);
        if (labelArgs.length > 0) await cp.kubectlOk(['label', 'namespace', name, ...labelArgs]);
        await cp.kubectlOk([
          'create',
          'secret',
          'generic',
          'registry-ca',
          '-n',
          name,
          `--from-literal=ca.crt=${registry.tls!.caPem}`,
        ]);
        return name;
      },
      repo(repoOptions) {
        return ociRepositoryObject({
          name: 'app',
          url: `oci://${registry.host}/acme/app`,
          ref: { tag: '1.0.0' },
          ...repoOptions,
          extraSpec: { certSecretRef: { name: 'registry-ca' }, ...repoOptions.extraSpec },
        });
      },
      async stored(namespace, name = 'app', version = 'v1') {
        return JSON.parse(
          await cp.kubectlOk([
            'get',
            `ocirepositories.${version}.source.toolkit.fluxcd.io`,
            '-n',
            namespace,
            name,
            '-o',
            'json',
            '--show-managed-fields',
          ]),
        );
      },
      /** Stops whatever `env.pw` is now (a test may have restarted pinwarden). */
      async stop() {
        await env.pw.stop();
        await registry.stop();
        await cp.stop();
      },
    };
    return env;
  } catch (error) {
    await pw?.stop();
    await registry.stop();
    await cp.stop();
    throw error;
  }
}
