/**
 * `pinwarden push DIR oci://HOST/REPO:TAG --source URL --revision REV`: publishes a Flux-compatible artifact
 * (the format of `flux push artifact`) and prints `oci://HOST/REPO@sha256:…`, the reference to sign and pin.
 * Exit 0 when pushed, 1 when the registry fails, 2 on bad flags, references or an unreadable DIR.
 */
import { resolve as resolvePath } from 'node:path';
import { Option, type Command } from 'commander';
import { PinwardenError } from '../../core/errors.ts';
import { packArtifact, pushArtifact } from '../../artifact/index.ts';
import { formatReference, parseReference } from '../../oci/index.ts';
import type { CliIo } from '../io.ts';
import type { SetExit } from '../command.ts';
import { addRegistryOptions, callFor, openRepository } from '../registry-options.ts';
import type { RegistryFlags } from '../registry-options.ts';

interface PushFlags extends RegistryFlags {
  source: string;
  revision: string;
  reproducible?: boolean;
  ignorePaths?: string;
  annotation?: string[];
  /** Hidden alias of --annotation (the old name), also one value per flag. */
  annotations?: string[];
}

export function registerPush(program: Command, io: CliIo, setExit: SetExit): Command {
  const command = program
    .command('push')
    .description(
      'Publish a directory as a Flux OCI artifact (as flux push artifact does) and print its digest reference.',
    )
    .argument('<dir>', 'directory (or single file) to archive')
    .argument('<ref>', 'oci://HOST/REPO:TAG')
    .requiredOption('--source <url>', 'source URL, e.g. the Git repository (org.opencontainers.image.source)')
    .requiredOption('--revision <rev>', 'source revision, e.g. main@sha1:<commit> (org.opencontainers.image.revision)')
    .option('--reproducible', 'use the epoch as the created time, so equal content gives an equal digest')
    .option('--ignore-paths <patterns>', 'comma-separated .gitignore patterns replacing the default exclusions')
    .option('-a, --annotation <key=value>', 'extra manifest annotation, one per flag (repeatable)', collect)
    .addOption(new Option('--annotations <key=value>').argParser(collect).hideHelp());
  return addRegistryOptions(command).action(async (dir: string, ref: string, flags: PushFlags) => {
    setExit(await runPush(dir, ref, flags, io));
  });
}

export async function runPush(dir: string, ref: string, flags: PushFlags, io: CliIo): Promise<0> {
  const reference = parseReference(ref);
  if (reference.tag === undefined || reference.digest !== undefined) {
    throw new PinwardenError('PW_INPUT_INVALID', 'push needs a tag and no digest: oci://HOST/REPO:TAG');
  }
  if (flags.source.trim() === '' || flags.revision.trim() === '') {
    throw new PinwardenError('PW_INPUT_INVALID', '--source and --revision must not be empty');
  }
  const call = await callFor(flags);
  const artifact = await packArtifact({
    path: resolvePath(io.cwd, dir),
    source: flags.source,
    revision: flags.revision,
    reproducible: flags.reproducible === true,
    ...(flags.ignorePaths !== undefined ? { ignorePaths: splitList(flags.ignorePaths) } : {}),
    annotations: parseAnnotations([...(flags.annotation ?? []), ...(flags.annotations ?? [])]),
  });
  const repository = await openRepository(reference, flags, io);
  try {
    const pushed = await pushArtifact(repository, artifact, reference.tag, call);
    io.stdout(`${formatReference({ ...reference, tag: undefined, digest: pushed.digest })}\n`);
  } finally {
    repository.close();
  }
  return 0;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parseAnnotations(pairs: readonly string[]): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0)
      throw new PinwardenError('PW_INPUT_INVALID', `--annotation expects key=value, got '${pair.slice(0, 80)}'`);
    annotations[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return annotations;
}
