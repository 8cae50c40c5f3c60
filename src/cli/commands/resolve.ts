/**
 * `pinwarden resolve oci://HOST/REPO (--tag T | --semver RANGE [--semver-filter RE])`: prints the manifest
 * digest the mutating webhook would pin (HEAD, GET fallback; semver as source-controller selects it).
 * Exit 0 with the digest, 1 when the registry fails or nothing matches, 2 on bad flags or references.
 * The registry flags (credentials, TLS, insecure, timeout) are shared with `push`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { Option, type Command } from 'commander';
import { PinwardenError } from '../../core/errors.ts';
import { durationFlagMs } from '../flags/duration.ts';
import { HttpRepository, callWithTimeout, createResolver, credentialsFromDockerConfig, parseReference } from '../../oci/index.ts';
import type { Call, Credentials, Reference, TlsOptions } from '../../oci/index.ts';
import type { CliIo } from '../io.ts';
import type { SetExit } from '../command.ts';

export interface RegistryFlags {
  insecure?: boolean;
  dockerConfig?: string;
  caFile?: string;
  clientCert?: string;
  clientKey?: string;
  /** Hidden aliases of --client-cert / --client-key (the names before 0.2). */
  certFile?: string;
  keyFile?: string;
  timeout: string;
}

interface ResolveFlags extends RegistryFlags {
  tag?: string;
  semver?: string;
  semverFilter?: string;
}

export function registerResolve(program: Command, io: CliIo, setExit: SetExit): Command {
  const command = program
    .command('resolve')
    .description('Print the manifest digest of a tag, or of the highest tag matching a semver range.')
    .argument('<ref>', 'oci://HOST/REPO (a :TAG or @sha256:… suffix is also accepted)')
    .option('--tag <tag>', 'tag to resolve')
    .option('--semver <range>', 'semver range; the highest matching tag is resolved')
    .option('--semver-filter <regexp>', 'Go regexp the tags must match before semver selection');
  return addRegistryOptions(command).action(async (ref: string, flags: ResolveFlags) => {
    setExit(await runResolve(ref, flags, io));
  });
}

export function addRegistryOptions(command: Command): Command {
  return command
    .option('--insecure', 'allow plain HTTP (and unverified TLS without --ca-file)')
    .option('--docker-config <file>', 'dockerconfigjson with credentials (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json)')
    .option('--ca-file <file>', 'PEM CA bundle trusted in addition to the system roots')
    .option('--client-cert <file>', 'PEM client certificate (mTLS; with --client-key)')
    .option('--client-key <file>', 'PEM private key of the client certificate')
    .addOption(new Option('--cert-file <file>').hideHelp())
    .addOption(new Option('--key-file <file>').hideHelp())
    .option('--timeout <duration>', 'deadline for all registry calls (Go duration: 30s, 2m, 1m30s)', '30s');
}

export async function runResolve(ref: string, flags: ResolveFlags, io: CliIo): Promise<0> {
  const reference = parseReference(ref);
  const wanted = [reference.tag, reference.digest, flags.tag, flags.semver].filter((value) => value !== undefined);
  if (wanted.length !== 1) {
    throw new PinwardenError('PW_INPUT_INVALID', 'give exactly one of --tag, --semver, or a :TAG / @DIGEST suffix on the reference');
  }
  if (flags.semverFilter !== undefined && flags.semver === undefined) {
    throw new PinwardenError('PW_INPUT_INVALID', '--semver-filter needs --semver');
  }
  const call = callFor(flags);
  const repository = await openRepository(reference, flags, io);
  try {
    if (flags.semver !== undefined) {
      const found = await createResolver().resolveSemver(repository, flags.semver, flags.semverFilter, call);
      io.stdout(`${found.descriptor.digest}\n`);
    } else {
      const descriptor = await repository.resolve(reference.digest ?? reference.tag ?? flags.tag ?? 'latest', call);
      io.stdout(`${descriptor.digest}\n`);
    }
  } finally {
    repository.close();
  }
  return 0;
}

export function callFor(flags: Pick<RegistryFlags, 'timeout'>): Call {
  return callWithTimeout(durationFlagMs('--timeout', flags.timeout));
}

export async function openRepository(reference: Reference, flags: RegistryFlags, io: CliIo): Promise<HttpRepository> {
  const credentials = await readCredentials(reference.registry, flags, io);
  const tls = await readTls(flags, io);
  return new HttpRepository(reference, {
    ...(credentials ? { credentials } : {}),
    ...(tls ? { tls } : {}),
    insecure: flags.insecure === true,
  });
}

async function readCredentials(registry: string, flags: RegistryFlags, io: CliIo): Promise<Credentials | undefined> {
  const explicit = flags.dockerConfig !== undefined;
  const file = explicit ? resolvePath(io.cwd, flags.dockerConfig ?? '') : defaultDockerConfig(io);
  if (file === undefined || (!explicit && !existsSync(file))) return undefined;
  const text = await readText(file, '--docker-config');
  try {
    return credentialsFromDockerConfig(text, registry);
  } catch (error) {
    if (error instanceof PinwardenError) throw new PinwardenError(error.code, `${file}: ${error.message}`);
    throw error;
  }
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
function clientFlag(value: string | undefined, alias: string | undefined, flag: string, aliasFlag: string): string | undefined {
  if (value !== undefined && alias !== undefined) throw new PinwardenError('PW_INPUT_INVALID', `${flag} and ${aliasFlag} are the same flag; give one`);
  return value ?? alias;
}

async function readText(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new PinwardenError('PW_INPUT_INVALID', `${flag} ${file}: cannot be read (${typeof code === 'string' ? code : 'error'})`, { cause: error });
  }
}
