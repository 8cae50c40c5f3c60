/**
 * `pinwarden resolve oci://HOST/REPO (--tag T | --semver RANGE [--semver-filter RE])`: prints the manifest
 * digest the mutating webhook would pin (HEAD, GET fallback; semver as source-controller selects it).
 * Exit 0 with the digest, 1 when the registry fails or nothing matches, 2 on bad flags or references.
 * The registry flags (credentials, TLS, insecure, timeout) are the shared ones of `registry-options.ts`.
 */
import type { Command } from 'commander';
import { PinwardenError } from '../../core/errors.ts';
import { createResolver, parseReference } from '../../oci/index.ts';
import type { CliIo } from '../io.ts';
import type { SetExit } from '../command.ts';
import { addRegistryOptions, callFor, openRepository } from '../registry-options.ts';
import type { RegistryFlags } from '../registry-options.ts';

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

export async function runResolve(ref: string, flags: ResolveFlags, io: CliIo): Promise<0> {
  const reference = parseReference(ref);
  const wanted = [reference.tag, reference.digest, flags.tag, flags.semver].filter((value) => value !== undefined);
  if (wanted.length !== 1) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      'give exactly one of --tag, --semver, or a :TAG / @DIGEST suffix on the reference',
    );
  }
  if (flags.semverFilter !== undefined && flags.semver === undefined) {
    throw new PinwardenError('PW_INPUT_INVALID', '--semver-filter needs --semver');
  }
  const call = await callFor(flags);
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
