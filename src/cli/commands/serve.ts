/**
 * `pinwarden serve`: the admission webhook (HTTPS `/mutate`, `/validate`) and the plain-HTTP metrics port,
 * until SIGTERM or SIGINT, then a graceful shutdown (in-flight reviews are answered first). On a developer
 * machine with no arguments it uses `certs/tls.crt` / `certs/tls.key`, making them with
 * `certs/make-dev-certs.sh` when they are missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { Logger } from '../../runtime/index.ts';
import { createLogger, untilStopSignal } from '../../runtime/index.ts';
import { DEFAULT_LIMITS, startServe } from '../../webhook/index.ts';
import type { EmbeddedService, EmbeddedShared } from '../../webhook/index.ts';
import { startAuditService } from '../../audit/index.ts';
import { PinwardenError } from '../../core/errors.ts';
import { createKubeApi } from '../../kube/index.ts';
import { durationFlagMs } from '../flags/duration.ts';
import { startController } from '../../controller/index.ts';
import { addControllerOptions, controllerSettings, leaseSettings } from './controller.ts';
import type { ControllerFlags } from './controller.ts';
import type { CliIo } from '../io.ts';
import type { SetExit } from '../command.ts';

interface ServeCliOptions {
  port: number;
  metricsPort: number;
  host: string;
  tlsCert: string;
  tlsKey: string;
  clientCaFile?: string;
  maxConnections: number;
  maxBodyBudget: number;
  config?: string;
  kubeconfig?: string;
  logLevel: string;
  /** `--controller`: the embedded controller in this process too. */
  controller?: boolean;
  /** `--policy-source`: the policy file (default) or the cluster's SourcePolicy objects. */
  policySource?: 'file' | 'cluster';
  /** `--audit-interval`: audit what already runs, and report PolicyReports, this often. */
  auditInterval?: string;
  /** `--audit-lease-name`: the Lease whose holder alone runs the audit. */
  auditLeaseName: string;
}

const DEV_CERT = 'certs/tls.crt';
const DEV_KEY = 'certs/tls.key';
const DEV_SCRIPT = 'certs/make-dev-certs.sh';

export function registerServe(program: Command, io: CliIo, setExit: SetExit): Command {
  const command = program
    .command('serve')
    .description('Run the admission webhook (HTTPS /mutate and /validate) and /metrics, /healthz, /readyz.')
    .option('--port <port>', 'HTTPS port for /mutate and /validate', parsePort, 8443)
    .option('--metrics-port <port>', 'plain HTTP port for /metrics, /healthz, /readyz', parsePort, 8080)
    .option(
      '--host <address>',
      'listen address of both ports (0.0.0.0: every interface, as a container needs; 127.0.0.1 keeps it on this machine)',
      '0.0.0.0',
    )
    .option('--tls-cert <file>', 'serving certificate (PEM), reloaded when it changes', DEV_CERT)
    .option('--tls-key <file>', 'serving key (PEM), reloaded when it changes', DEV_KEY)
    .option(
      '--client-ca-file <file>',
      "require a client certificate signed by this CA (PEM) on every connection: the apiserver's, from its AdmissionConfiguration kubeConfigFile; reloaded when it changes",
    )
    .option(
      '--max-connections <n>',
      'concurrent connections; more are closed on accept',
      parseCount,
      DEFAULT_LIMITS.maxConnections,
    )
    .option(
      '--max-body-budget <MiB>',
      'request bodies held at once; past it a request gets 503 PW_REVIEW_BUSY before its body is read',
      parseCount,
      DEFAULT_LIMITS.bodyBudgetBytes / (1024 * 1024),
    )
    .option('-c, --config <file>', 'SourcePolicy file, reloaded when it changes (default: built-in secure defaults)')
    .option(
      '--kubeconfig <file>',
      'kubeconfig for reading registry Secrets (default: in-cluster, then $KUBECONFIG / ~/.kube/config)',
    )
    .addOption(
      new Option(
        '--policy-source <source>',
        'file: --config (or the built-in defaults), reloaded on change; cluster: the SourcePolicy and SourcePolicyException objects (CRDs in deploy/crds), watched',
      )
        .choices(['file', 'cluster'])
        .default('file'),
    )
    .option(
      '--audit-interval <duration>',
      'audit the sources already in the cluster this often (Go duration: 10m, 1h) and write wgpolicyk8s.io/v1alpha2 PolicyReports per namespace; only the replica holding --audit-lease-name audits; off when not given',
    )
    .option(
      '--audit-lease-name <name>',
      'name of the Lease (in --leader-election-namespace) whose holder alone runs the audit; --no-leader-elect: every replica audits',
      parseLeaseName,
      'pinwarden-audit',
    )
    .addOption(
      new Option('--log-level <level>', 'log level; debug also logs allowed, unchanged reviews')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
        .default('info'),
    )
    .option(
      '--controller',
      'also run the embedded controller (reconcile OCIRepository sources as leader of a Lease); /readyz then also waits for its watches',
    );
  addControllerOptions(command, false);
  return command.action(async (options: ServeCliOptions & Partial<ControllerFlags>) => {
    const usesDevCerts =
      command.getOptionValueSource('tlsCert') === 'default' && command.getOptionValueSource('tlsKey') === 'default';
    setExit(await runServe(options, io, { usesDevCerts }));
  });
}

export interface RunServeOptions {
  usesDevCerts?: boolean;
  /** The process logger (default: pino JSON lines on stdout at --log-level). */
  logger?: Logger;
  /** Resolves when the server should stop; default: the first SIGTERM or SIGINT. */
  untilStopped?: () => Promise<string>;
}

export async function runServe(
  options: ServeCliOptions & Partial<ControllerFlags>,
  io: CliIo,
  run: RunServeOptions = {},
): Promise<0> {
  const path = (file: string): string => resolve(io.cwd, file);
  // One logger for the whole process, so every line it prints (start, reloads, shutdown) is JSON.
  const logger = run.logger ?? createLogger({ level: options.logLevel });
  if (run.usesDevCerts === true) ensureDevCertificates(io, path, logger);
  // Listen for the stop signal before serving: a SIGTERM right after "pinwarden serving" must drain, not kill.
  const stopped = (run.untilStopped ?? untilStopSignal)();
  let lost!: (reason: string) => void;
  const lostLeadership = new Promise<string>((done) => (lost = done));
  const kubeconfig = options.kubeconfig === undefined ? undefined : path(options.kubeconfig);
  if (options.policySource === 'cluster' && options.config !== undefined) {
    throw new PinwardenError(
      'PW_USAGE',
      '--config and --policy-source=cluster exclude each other: the policy comes from the SourcePolicy objects',
    );
  }
  const auditIntervalMs =
    options.auditInterval === undefined
      ? undefined
      : durationFlagMs('--audit-interval', options.auditInterval, 24 * 3_600_000);
  const services: Array<(shared: EmbeddedShared) => Promise<EmbeddedService>> = [];
  if (options.controller === true) {
    services.push((shared) =>
      startController({
        ...controllerSettings(options as ControllerFlags, io, kubeconfig),
        policy: shared.policy,
        policyChanges: shared.policyChanges,
        secrets: shared.secrets,
        logger: shared.logger,
        metricsRegistry: shared.registry,
        onLostLeadership: () => lost('lost leadership'),
      }),
    );
  }
  if (auditIntervalMs !== undefined) {
    services.push(async (shared) =>
      startAuditService({
        api: createKubeApi({ ...(kubeconfig !== undefined ? { kubeconfig } : {}), userAgent: 'pinwarden-audit' }),
        intervalMs: auditIntervalMs,
        logger: shared.logger,
        registry: shared.registry,
        policy: shared.policy,
        exceptions: shared.exceptions,
        validate: (input, policy) => shared.flows.validate(input, policy),
        identities: shared.identities,
        ...(options.leaderElect === false
          ? {}
          : { leaderElection: leaseSettings(options as ControllerFlags, options.auditLeaseName) }),
      }),
    );
  }
  const server = await startServe({
    logger,
    port: options.port,
    metricsPort: options.metricsPort,
    host: options.host,
    logLevel: options.logLevel,
    tlsCert: path(options.tlsCert),
    tlsKey: path(options.tlsKey),
    ...(options.clientCaFile !== undefined ? { clientCaFile: path(options.clientCaFile) } : {}),
    limits: { maxConnections: options.maxConnections, bodyBudgetBytes: options.maxBodyBudget * 1024 * 1024 },
    ...(options.config !== undefined ? { config: path(options.config) } : {}),
    ...(kubeconfig !== undefined ? { kubeconfig } : {}),
    ...(options.policySource === 'cluster' ? { policySource: 'cluster' as const } : {}),
    ...(services.length > 0 ? { embedded: (shared: EmbeddedShared) => startServices(services, shared) } : {}),
  });
  const reason = await Promise.race([stopped, lostLeadership]);
  logger.info({ signal: reason }, 'shutting down');
  await server.close();
  logger.info({ signal: reason }, 'stopped');
  return 0;
}

/** The embedded services in order; /readyz waits for all, they close in reverse order. */
async function startServices(
  starters: ReadonlyArray<(shared: EmbeddedShared) => Promise<EmbeddedService>>,
  shared: EmbeddedShared,
): Promise<EmbeddedService> {
  const started: EmbeddedService[] = [];
  const closeAll = async (): Promise<void> => {
    for (const service of started.reverse()) await service.close();
  };
  try {
    for (const start of starters) started.push(await start(shared));
  } catch (error) {
    await closeAll();
    throw error;
  }
  return { isReady: () => started.every((service) => service.isReady()), close: closeAll };
}

/** Developer convenience only: the default paths, missing, with the script at hand. */
function ensureDevCertificates(io: CliIo, path: (file: string) => string, logger: Logger): void {
  if (existsSync(path(DEV_CERT)) && existsSync(path(DEV_KEY))) return;
  if (!existsSync(path(DEV_SCRIPT))) return;
  logger.info({ certificate: DEV_CERT, script: DEV_SCRIPT }, 'certificate missing: making development certificates');
  const result = spawnSync('sh', [path(DEV_SCRIPT)], {
    cwd: io.cwd,
    stdio: ['ignore', 'ignore', 'ignore'],
    timeout: 60_000,
  });
  if (result.status !== 0)
    logger.error({ script: DEV_SCRIPT, exitCode: result.status }, 'making development certificates failed');
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return port;
}

function parseLeaseName(value: string): string {
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(value))
    throw new InvalidArgumentError('must be a Lease name (lower-case letters, digits, "-" and ".")');
  return value;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1 || count > 1_000_000)
    throw new InvalidArgumentError('must be a whole number from 1 to 1000000');
  return count;
}
