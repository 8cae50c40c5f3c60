// `npm run cluster [-- --webhook [--config POLICY]]`: a local Kubernetes control plane for people (issue #8).
// Starts etcd + kube-apiserver (built from Go modules by kube-assets.ts, once) with the Flux CRDs, in the
// foreground, and prints `export KUBECONFIG=…`. With --webhook it also starts `pinwarden serve` (the
// example policy, or --config), a local TLS docker-registry holding a small Flux artifact at two tags, and
// registers pinwarden's Mutating/ValidatingWebhookConfiguration by clientConfig.url + caBundle.
// --no-flux-crds starts the apiserver without Flux's CRDs (install deploy/crds/ yourself: a cluster without
// Flux); --registry starts an empty plain-HTTP docker-registry on loopback and prints REGISTRY=host:port.
// Ctrl-C stops all of it and removes its temporary directories.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { KUBE_VERSION, ensureKubeAssets } from './kube-assets.ts';
import { startControlPlane } from '../test/support/control-plane.ts';
import type { ControlPlane } from '../test/support/control-plane.ts';
import { registerWebhooks, startPinwarden, waitForWebhooks } from '../test/support/pinwarden.ts';
import { builtCli } from '../test/helpers/cli.ts';
import type { Pinwarden } from '../test/support/pinwarden.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import type { TestRegistry } from '../test/helpers/registry.ts';
import { pushFluxArtifact } from '../test/helpers/push-image.ts';

const USAGE = 'usage: npm run cluster [-- [--webhook [--config POLICY]] [--no-flux-crds] [--registry]]';

export interface ClusterArgs {
  webhook: boolean;
  config: string;
  fluxCrds: boolean;
  registry: boolean;
}

export function parseArgs(argv: string[]): ClusterArgs {
  let webhook = false;
  let config = 'examples/policy.yaml';
  let fluxCrds = true;
  let registry = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === '--webhook') webhook = true;
    else if (arg === '--no-flux-crds') fluxCrds = false;
    else if (arg === '--registry') registry = true;
    else if (arg === '--config' && argv[index + 1] !== undefined) config = argv[++index]!;
    else if (arg?.startsWith('--config=')) config = arg.slice('--config='.length);
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown argument ${arg}\n${USAGE}`);
      process.exit(2);
    }
  }
  return { webhook, config, fluxCrds, registry };
}

/**
 * The given policy, adjusted for this machine only: the local registry is added to allowedRegistries (when
 * the policy restricts registries) and loopback to registry.allowNetworks, so the webhook may reach it.
 */
export function localPolicy(policyYaml: string, registryHost: string): string {
  const document = parseDocument(policyYaml);
  const registries = document.getIn(['spec', 'ociRepository', 'allowedRegistries']);
  const current = (registries as { toJSON(): unknown } | undefined)?.toJSON();
  if (Array.isArray(current) && current.length > 0)
    document.setIn(['spec', 'ociRepository', 'allowedRegistries'], [...current, `oci://${registryHost}/`]);
  const networks = (
    document.getIn(['spec', 'registry', 'allowNetworks']) as { toJSON(): unknown } | undefined
  )?.toJSON();
  document.setIn(
    ['spec', 'registry', 'allowNetworks'],
    [...(Array.isArray(networks) ? networks : []), '127.0.0.0/8', '::1/128'],
  );
  return document.toString();
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const configPath = resolve(args.config);
  if (args.webhook && !existsSync(configPath)) throw new Error(`--config ${args.config}: no such file`);
  // Refuses a missing or stale dist/ with what to run.
  if (args.webhook) builtCli();
  const assets = ensureKubeAssets(process.env, (line) => console.error(line));
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  let stopping = false;
  const onSignal = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping…`);
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  try {
    const cp: ControlPlane = await startControlPlane({ fluxCrds: args.fluxCrds ? 'current' : 'none' });
    stops.push(() => cp.stop());
    console.error(
      `kube-apiserver ${cp.url} and etcd ${cp.etcdUrl} ready in ${(cp.startupMs / 1000).toFixed(1)} s ` +
        (args.fluxCrds ? '(Flux CRDs Established)' : '(no CRDs installed)'),
    );
    const lines = [
      `export PATH="${assets.dir}:$PATH"   # kubectl ${KUBE_VERSION}`,
      `export KUBECONFIG=${cp.adminKubeconfig}`,
    ];
    if (args.webhook) {
      const registry: TestRegistry = await startRegistry({ mode: 'tls' });
      stops.push(() => registry.stop());
      for (const tag of ['1.0.0', '1.1.0']) {
        const digest = await pushFluxArtifact(
          { host: registry.host, path: 'acme/app', tls: { ca: registry.tls!.caPem } },
          tag,
        );
        console.error(`pushed oci://${registry.host}/acme/app:${tag} (${digest})`);
      }
      await cp.kubectlOk([
        'create',
        'secret',
        'generic',
        'registry-ca',
        '-n',
        'default',
        `--from-literal=ca.crt=${registry.tls!.caPem}`,
      ]);
      const pw: Pinwarden = await startPinwarden({
        policy: localPolicy(readFileSync(configPath, 'utf8'), registry.host),
        kubeconfig: cp.adminKubeconfig,
      });
      stops.push(() => pw.stop());
      await registerWebhooks(cp, pw);
      await waitForWebhooks(cp, pw);
      console.error(`pinwarden serve ${pw.url} (policy ${args.config}, plus this registry), webhooks registered`);
      console.error('Secret default/registry-ca holds the registry CA: set spec.certSecretRef.name: registry-ca');
      lines.push(`REGISTRY=${registry.host}`);
    } else if (args.registry) {
      const registry: TestRegistry = await startRegistry({ mode: 'plain' });
      stops.push(() => registry.stop());
      console.error(`docker-registry http://${registry.host} (plain HTTP, loopback only)`);
      lines.push(`export REGISTRY=${registry.host}`);
    }
    console.log(lines.join('\n'));
    console.error('Ctrl-C stops it all.');
    await new Promise(() => undefined);
  } catch (error) {
    await stopAll();
    throw error;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`npm run cluster: ${(error as Error).message}`);
    process.exit(1);
  });
}
