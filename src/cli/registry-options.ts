/**
 * The registry flags every command that talks to a registry shares (`resolve`, `push`, `verify`,
 * `check --resolve`): credentials from one docker-config reader, TLS (`--ca-file`, client certificate),
 * `--insecure`, and the `--timeout` deadline. The OCI room is imported only when a registry is really opened,
 * so `check` without `--resolve` never loads it.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { Option, type Command } from 'commander';
import { PinwardenError } from '../core/errors.ts';
import type { Call, Credentials, HttpRepository, Reference, TlsOptions } from '../oci/index.ts';
import { readInputFile } from '../runtime/index.ts';
import { durationFlagMs } from './flags/duration.ts';
import type { CliIo } from './io.ts';

export interface RegistryFlags {
  insecure?: boolean;
  dockerConfig?: string;
  caFile?: string;
  clientCert?: string;
  clientKey?: string;
  /** Hidden aliases of --client-cert / --client-key (the names before 0.2). */
  certFile?: string;
  keyFile?: string;
  timeout?: string;
}

/** `timeout: false`: the command has its own deadline (`check --resolve` uses the policy's registry timeout). */
export function addRegistryOptions(command: Command, options: { timeout?: boolean } = {}): Command {
  command
    .option('--insecure', 'allow plain HTTP (and unverified TLS without --ca-file)')
    .option(
      '--docker-config <file>',
      'dockerconfigjson with credentials (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json)',
    )
    .option('--ca-file <file>', 'PEM CA bundle trusted in addition to the system roots')
    .option('--client-cert <file>', 'PEM client certificate (mTLS; with --client-key)')
    .option('--client-key <file>', 'PEM private key of the client certificate')
    .addOption(new Option('--cert-file <file>').hideHelp())
    .addOption(new Option('--key-file <file>').hideHelp());
  if (options.timeout !== false)
    command.option('--timeout <duration>', 'deadline for all registry calls (Go duration: 30s, 2m, 1m30s)', '30s');
  return command;
}

/** The flags given that only make sense when a registry is contacted (for `check` without `--resolve`). */
export function registryFlagsGiven(flags: RegistryFlags): string[] {
  const named: Array<[keyof RegistryFlags, string]> = [
    ['insecure', '--insecure'],
    ['dockerConfig', '--docker-config'],
    ['caFile', '--ca-file'],
    ['clientCert', '--client-cert'],
    ['clientKey', '--client-key'],
    ['certFile', '--cert-file'],
    ['keyFile', '--key-file'],
  ];
  return named.filter(([key]) => flags[key] !== undefined).map(([, flag]) => flag);
}

export async function callFor(flags: Pick<RegistryFlags, 'timeout'>): Promise<Call> {
  const { callWithTimeout } = await import('../oci/index.ts');
  return callWithTimeout(durationFlagMs('--timeout', flags.timeout ?? '30s'));
}

/** What the flags say about every registry: the docker config document, TLS material, plain HTTP allowed. */
export interface RegistrySettings {
  dockerConfig?: { file: string; document: object };
  tls?: TlsOptions;
  insecure: boolean;
}

export async function readRegistrySettings(flags: RegistryFlags, io: CliIo): Promise<RegistrySettings> {
  const dockerConfig = await readDockerConfig(flags, io);
  const tls = await readTls(flags, io);
  return { ...(dockerConfig ? { dockerConfig } : {}), ...(tls ? { tls } : {}), insecure: flags.insecure === true };
}

export async function openRepository(reference: Reference, flags: RegistryFlags, io: CliIo): Promise<HttpRepository> {
  const settings = await readRegistrySettings(flags, io);
  const { HttpRepository } = await import('../oci/index.ts');
  const credentials = await credentialsFor(settings, reference.registry);
  return new HttpRepository(reference, {
    ...(credentials ? { credentials } : {}),
    ...(settings.tls ? { tls: settings.tls } : {}),
    insecure: settings.insecure,
  });
}

/** The credentials the docker config holds for `registry`; a malformed entry names the file, never its content. */
export async function credentialsFor(settings: RegistrySettings, registry: string): Promise<Credentials | undefined> {
  if (!settings.dockerConfig) return undefined;
  const { credentialsFromDockerConfig } = await import('../oci/index.ts');
  try {
    return credentialsFromDockerConfig(settings.dockerConfig.document, registry);
  } catch (error) {
    if (error instanceof PinwardenError)
      throw new PinwardenError(error.code, `${settings.dockerConfig.file}: ${error.message}`);
    throw error;
  }
}

/**
 * The one docker-config reader: `--docker-config FILE` (must exist), else `$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json` when present. A file that is not a JSON object is an input error that never quotes
 * the file (it holds credentials).
 */
export async function readDockerConfig(
  flags: Pick<RegistryFlags, 'dockerConfig'>,
  io: CliIo,
): Promise<{ file: string; document: object } | undefined> {
  const explicit = flags.dockerConfig !== undefined;
  const file = explicit ? resolvePath(io.cwd, flags.dockerConfig ?? '') : defaultDockerConfig(io);
  if (file === undefined || (!explicit && !existsSync(file))) return undefined;
  const text = await readText(file, '--docker-config');
  try {
    const document: unknown = JSON.parse(text);
    if (document !== null && typeof document === 'object') return { file, document };
  } catch {
    // fall through: never quote the file
  }
  throw new PinwardenError('PW_INPUT_INVALID', `${file}: not a JSON docker config`);
}

function defaultDockerConfig(io: CliIo): string | undefined {
  if (io.env.DOCKER_CONFIG) return join(io.env.DOCKER_CONFIG, 'config.json');
  const home = io.env.HOME ?? homedir();
  return home ? join(home, '.docker', 'config.json') : undefined;
}

async function readTls(flags: RegistryFlags, io: CliIo): Promise<TlsOptions | undefined> {
  const certFile = clientFlag(flags.clientCert, flags.certFile, '--client-cert', '--cert-file');
  const keyFile = clientFlag(flags.clientKey, flags.keyFile, '--client-key', '--key-file');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new PinwardenError('PW_INPUT_INVALID', '--client-cert and --client-key go together');
  }
  const tls: TlsOptions = {};
  if (flags.caFile !== undefined) tls.ca = await readText(resolvePath(io.cwd, flags.caFile), '--ca-file');
  if (certFile !== undefined && keyFile !== undefined) {
    tls.cert = await readText(resolvePath(io.cwd, certFile), '--client-cert');
    tls.key = await readText(resolvePath(io.cwd, keyFile), '--client-key');
  }
  return tls.ca !== undefined || tls.cert !== undefined ? tls : undefined;
}

/** The new flag name or its hidden old alias; both at once is a usage error. */
function clientFlag(
  value: string | undefined,
  alias: string | undefined,
  flag: string,
  aliasFlag: string,
): string | undefined {
  if (value !== undefined && alias !== undefined)
    throw new PinwardenError('PW_INPUT_INVALID', `${flag} and ${aliasFlag} are the same flag; give one`);
  return value ?? alias;
}

export async function readText(file: string, flag: string): Promise<string> {
  return (await readInputFile(file, `${flag} ${file}`)).toString('utf8');
}
