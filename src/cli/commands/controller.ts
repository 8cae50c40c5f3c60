/**
 * `pinwarden controller`: the embedded controller without the webhook (issue #10): watches OCIRepository
 * objects (and Kustomizations once their reconciler is wired), reconciles them as leader of a Lease, serves
 * `/healthz`, `/readyz` (watches synced) and `/metrics` on a plain-HTTP port, and on SIGTERM finishes the step
 * in flight, releases the Lease and exits 0. The controller flags are shared with `serve --controller`.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { flowPuller, startController, startProbeServer } from '../../controller/index.ts';
import type { ControllerOptions, RunningController } from '../../controller/index.ts';

import { cachingSecretReader, createKubeSecretReader } from '../../kube/index.ts';
import { createLogger, createMetricsRegistry, policyFromFile, untilStopSignal } from '../../runtime/index.ts';
import type { SourcePolicy } from '../../core/policy/index.ts';
import { parseRemoteClusterAddress } from '../../core/kubeconfig/index.ts';
import { durationFlagMs } from '../flags/duration.ts';
import type { CliIo } from '../io.ts';
import type { SetExit } from '../command.ts';

export interface ControllerFlags {
  kubeconfig?: string;
  namespaces?: string[];
  labelSelector?: string;
  workers: number;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  storageDir: string;
  storageMaxSize: number;
  /** `--requeue-dependency` (ms): how soon a Kustomization waiting for its source or dependencies is retried. */
  requeueDependency: number;
  /** `--no-cross-namespace-refs` sets it false: a Kustomization may then name only sources in its own namespace. */
  crossNamespaceRefs: boolean;
  /** `--default-service-account`: impersonated by a Kustomization that names none. */
  defaultServiceAccount?: string;
  /** `--remote-cluster` (repeatable): normalized `host:port` of API servers a `spec.kubeConfig` may name. */
  remoteCluster?: string[];
  /** `--insecure-kubeconfig-exec`: exec / auth-provider plugins of a `spec.kubeConfig` may run. */
  insecureKubeconfigExec?: boolean;
  /** `--insecure-kubeconfig-tls`: `insecure-skip-tls-verify` of a `spec.kubeConfig` is honoured. */
  insecureKubeconfigTls?: boolean;
}

interface ControllerCliOptions extends ControllerFlags {
  metricsPort: number;
  host: string;
  config?: string;
  logLevel: string;
}

/** The controller's flags, shared by `controller` and `serve --controller`. */
export function addControllerOptions(command: Command, withKubeconfig = true): Command {
  if (withKubeconfig)
    command.option('--kubeconfig <file>', 'kubeconfig (default: in-cluster, then $KUBECONFIG / ~/.kube/config)');
  return command
    .option('--namespaces <list>', 'watch only these namespaces (comma-separated; default: cluster-wide)', parseList)
    .option('--label-selector <selector>', 'reconcile only objects matching this label selector (sharding)')
    .option('--workers <n>', 'objects reconciled in parallel (one worker per object at a time)', parseCount(64), 4)
    .option(
      '--no-leader-elect',
      'no leader election: this process reconciles (and, in serve, audits) unconditionally (a single replica)',
    )
    .option('--leader-election-namespace <ns>', 'namespace of the leader Lease', process.env.POD_NAMESPACE ?? 'default')
    .option('--leader-election-id <name>', 'name of the leader Lease', 'pinwarden-controller')
    .option('--lease-duration <seconds>', 'seconds a non-renewed Lease keeps others waiting', parseCount(3600), 15)
    .option(
      '--renew-deadline <seconds>',
      'seconds the leader keeps trying to renew before it steps down',
      parseCount(3600),
      10,
    )
    .option('--retry-period <seconds>', 'seconds between Lease attempts', parseCount(600), 2)
    .option('--storage-dir <dir>', 'artifact store directory', '/tmp/pinwarden-artifacts')
    .option(
      '--storage-max-size <MiB>',
      'artifact store cap; least recently used artifacts are evicted beyond it',
      parseCount(1_048_576),
      1024,
    )
    .addOption(
      new Option(
        '--requeue-dependency <duration>',
        'retry a Kustomization waiting for its source or a dependency this often (Go duration; Flux: 30s)',
      )
        .argParser(parseDuration('--requeue-dependency'))
        .default(30_000, '30s'),
    )
    .option(
      '--no-cross-namespace-refs',
      "a Kustomization may name only sources in its own namespace (Flux's multi-tenancy lockdown)",
    )
    .option(
      '--default-service-account <name>',
      "ServiceAccount (in the Kustomization's namespace) impersonated when spec.serviceAccountName is empty (Flux's multi-tenancy lockdown)",
      parseAccountName,
    )
    .option(
      '--remote-cluster <host[:port]>',
      "an API server a Kustomization's spec.kubeConfig may name (repeatable; port default 443); none by default, so spec.kubeConfig is refused",
      collectAddress,
    )
    .option(
      '--insecure-kubeconfig-exec',
      "let a Kustomization's spec.kubeConfig run exec / auth-provider credential plugins in this pod (Flux's flag of the same name)",
    )
    .option(
      '--insecure-kubeconfig-tls',
      "honour insecure-skip-tls-verify in a Kustomization's spec.kubeConfig (Flux's flag of the same name)",
    );
}

export function registerController(program: Command, io: CliIo, setExit: SetExit): Command {
  const command = addControllerOptions(
    program
      .command('controller')
      .description(
        'Run the embedded controller only (no webhook): reconcile OCIRepository sources (fetch, verify, store) as leader of a Lease; /healthz, /readyz, /metrics on --metrics-port.',
      )
      .option('--metrics-port <port>', 'plain HTTP port for /metrics, /healthz, /readyz', parsePort, 8080)
      .option('--host <address>', 'listen address of the metrics port', '0.0.0.0')
      .option('-c, --config <file>', 'SourcePolicy file, reloaded when it changes (default: built-in secure defaults)'),
  ).addOption(
    new Option('--log-level <level>', 'log level')
      .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
      .default('info'),
  );
  return command.action(async (options: ControllerCliOptions) => {
    setExit(await runController(options, io));
  });
}

export interface RunControllerOptions {
  logger?: Logger;
  untilStopped?: () => Promise<string>;
}

async function runController(options: ControllerCliOptions, io: CliIo, run: RunControllerOptions = {}): Promise<0> {
  const logger = run.logger ?? createLogger({ level: options.logLevel });
  const stopped = (run.untilStopped ?? untilStopSignal)();
  const registry = createMetricsRegistry();
  const policy = await policyFromFile(options.config === undefined ? undefined : resolve(io.cwd, options.config), {
    logger,
  });
  const kubeconfig = options.kubeconfig === undefined ? undefined : resolve(io.cwd, options.kubeconfig);
  let lost!: () => void;
  const lostLeadership = new Promise<string>((done) => (lost = () => done('lost leadership')));
  const controller = await startController({
    ...controllerSettings(options, io, kubeconfig),
    policy: () => policy.current(),
    // A policy change can lift a denial or add one: every object is reconciled again under the new policy.
    policyChanges: (listener) => policy.onChange(listener),
    secrets: cachingSecretReader(createKubeSecretReader({ ...(kubeconfig ? { kubeconfig } : {}) })),
    logger,
    metricsRegistry: registry,
    onLostLeadership: lost,
  });
  const probes = await startProbeServer({
    port: options.metricsPort,
    host: options.host,
    registry,
    isReady: () => controller.isReady(),
    isLeader: () => controller.manager.isLeader(),
  }).catch(async (error: unknown) => {
    await controller.close();
    policy.close();
    throw error;
  });
  logger.info(
    {
      metrics: probes.url,
      namespaces: options.namespaces ?? 'all',
      labelSelector: options.labelSelector ?? '',
      leaderElection: options.leaderElect,
      storage: options.storageDir,
      remoteClusters: options.remoteCluster ?? [],
    },
    'pinwarden controller running',
  );
  const reason = await Promise.race([stopped, lostLeadership]);
  logger.info({ signal: reason }, 'shutting down');
  await stopController(controller);
  await probes.close();
  policy.close();
  logger.info({ signal: reason }, 'stopped');
  return 0;
}

export async function stopController(controller: RunningController): Promise<void> {
  await controller.close();
}

/** What `startController` takes from the flags (the rest comes from the process). */
export function controllerSettings(
  options: ControllerFlags,
  io: CliIo,
  kubeconfig: string | undefined,
): Pick<
  ControllerOptions,
  | 'kubeconfig'
  | 'namespaces'
  | 'labelSelector'
  | 'workers'
  | 'leaderElection'
  | 'storage'
  | 'pull'
  | 'kustomization'
  | 'remoteClusters'
> {
  return {
    ...(kubeconfig ? { kubeconfig } : {}),
    ...(options.namespaces && options.namespaces.length > 0 ? { namespaces: options.namespaces } : {}),
    ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    workers: options.workers,
    ...(options.leaderElect ? { leaderElection: leaseSettings(options, options.leaderElectionId) } : {}),
    storage: { dir: resolve(io.cwd, options.storageDir), maxBytes: options.storageMaxSize * 1024 * 1024 },
    pull: flowPuller,
    kustomization: {
      requeueDependencyMs: options.requeueDependency,
      noCrossNamespaceRefs: !options.crossNamespaceRefs,
      ...(options.defaultServiceAccount ? { defaultServiceAccount: options.defaultServiceAccount } : {}),
    },
    remoteClusters: {
      allowedServers: [...new Set(options.remoteCluster ?? [])],
      allowExec: options.insecureKubeconfigExec === true,
      allowInsecureTls: options.insecureKubeconfigTls === true,
    },
  };
}

/** One Lease's election settings from the flags (the controller's Lease, and `serve`'s audit Lease). */
export function leaseSettings(
  options: Pick<ControllerFlags, 'leaderElectionNamespace' | 'leaseDuration' | 'renewDeadline' | 'retryPeriod'>,
  name: string,
): NonNullable<ControllerOptions['leaderElection']> {
  return {
    namespace: options.leaderElectionNamespace,
    name,
    identity: `${hostname()}_${process.pid}`,
    leaseDurationSeconds: options.leaseDuration,
    renewDeadlineMs: options.renewDeadline * 1000,
    retryPeriodMs: options.retryPeriod * 1000,
  };
}

export type { SourcePolicy };

function parseList(value: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.some((item) => !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(item)))
    throw new InvalidArgumentError('must be comma-separated namespace names');
  return items;
}

function parseDuration(flag: string): (value: string) => number {
  return (value) => {
    try {
      return durationFlagMs(flag, value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message.replace(`${flag} takes`, 'must be'));
    }
  };
}

function parseAccountName(value: string): string {
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(value))
    throw new InvalidArgumentError('must be a ServiceAccount name (lower-case letters, digits, "-" and ".")');
  return value;
}

function collectAddress(value: string, previous: string[] | undefined): string[] {
  const address = parseRemoteClusterAddress(value.trim());
  if (address === undefined)
    throw new InvalidArgumentError(
      'must be HOST[:PORT] of an API server (an IPv6 address in brackets), no scheme or path',
    );
  if ((previous?.length ?? 0) >= 256) throw new InvalidArgumentError('at most 256 remote clusters');
  return [...(previous ?? []), address];
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return port;
}

function parseCount(max: number): (value: string) => number {
  return (value) => {
    const count = Number(value);
    if (!/^\d+$/.test(value) || count < 1 || count > max)
      throw new InvalidArgumentError(`must be a whole number from 1 to ${max}`);
    return count;
  };
}
