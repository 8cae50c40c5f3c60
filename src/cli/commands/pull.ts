/**
 * `pinwarden pull oci://HOST/REPO@sha256:… -o DIR (--issuer RE --subject RE | --key FILE) [--trusted-root FILE]`:
 * fetches a Flux artifact by digest, checks every blob by digest and size, verifies its cosign signature exactly
 * as `pinwarden verify` does (same flags, cosign aliases, commit binding, claim patterns), and only then extracts
 * the layer safely into DIR (absent or empty) — `flows.pullArtifact`, the path the controller also takes.
 * Exit 0 pulled, 1 verification failed, content did not match, the artifact is unsafe or the registry failed,
 * 2 on bad flags, references or an unusable output directory.
 */
import { resolve as resolvePath } from 'node:path';
import { Option, type Command } from 'commander';
import { PinwardenError } from '../../core/errors.ts';
import { DEFAULT_EXTRACT_LIMITS } from '../../artifact/index.ts';
import type { ExtractLimits } from '../../artifact/index.ts';
import { pullArtifact } from '../../flows/pull/index.ts';
import type { PullVerification, PulledArtifact } from '../../flows/pull/index.ts';
import { formatReference, parseReference } from '../../oci/index.ts';
import type { VerifiedSignature } from '../../signature/index.ts';
import type { CliIo } from '../io.ts';
import type { ExitCode, SetExit } from '../command.ts';
import { addCosignIdentityOptions } from '../flags/cosign-identity.ts';
import type { CosignIdentityFlags } from '../flags/cosign-identity.ts';
import { addBindingOptions, bindingJson, bindingMode, describeBinding } from '../flags/commit-binding.ts';
import type { BindingFlags } from '../flags/commit-binding.ts';
import { positiveIntegerFlag, sizeFlag } from '../flags/size.ts';
import { addRegistryOptions, callFor, openRepository } from '../registry-options.ts';
import type { RegistryFlags } from '../registry-options.ts';
import { addSignerOptions, claimRows, describeFailure, verificationOptions, verifyBlock } from './verify.ts';

interface PullFlags extends RegistryFlags, CosignIdentityFlags, BindingFlags {
  output: string;
  key?: string;
  trustedRoot?: string;
  requireTlog?: boolean;
  skipVerify?: boolean;
  layerMediaType?: string;
  layerOperation: string;
  maxFiles?: string;
  maxSize?: string;
  maxRatio?: string;
  format: string;
}

export function registerPull(program: Command, io: CliIo, setExit: SetExit): Command {
  const base = program
    .command('pull')
    .description(
      'Fetch an artifact by digest, verify its signature, then extract it safely into a directory (nothing is written unless everything passes).',
    )
    .argument('<ref>', 'oci://HOST/REPO@sha256:…')
    .requiredOption('-o, --output <dir>', 'directory to extract into; must be absent or empty (its parent must exist)');
  const command = addSignerOptions(base)
    .option(
      '--skip-verify',
      'extract without verifying any signature (says so on stderr); not with identity or key flags',
    )
    .option(
      '--layer-media-type <type>',
      'extract the first layer of this media type (Flux layerSelector.mediaType; default: the first layer)',
    )
    .addOption(
      new Option(
        '--layer-operation <op>',
        'extract the layer, or copy the compressed blob as <hex>.tgz (Flux layerSelector.operation)',
      )
        .choices(['extract', 'copy'])
        .default('extract'),
    )
    .option('--max-files <n>', `most entries the archive may hold (default ${DEFAULT_EXTRACT_LIMITS.maxFiles})`)
    .option(
      '--max-size <size>',
      'most uncompressed bytes, also the cap of the compressed layer (default 1GiB; e.g. 500MiB, 4GiB)',
    )
    .option(
      '--max-ratio <n>',
      `most uncompressed bytes per compressed byte past the first 16 MiB (default ${DEFAULT_EXTRACT_LIMITS.maxRatio})`,
    )
    .addOption(new Option('--format <format>', 'what to print on success').choices(['text', 'json']).default('text'));
  return addRegistryOptions(addBindingOptions(addCosignIdentityOptions(command))).action(
    async (ref: string, flags: PullFlags) => {
      setExit(await runPull(ref, flags, io));
    },
  );
}

export async function runPull(ref: string, flags: PullFlags, io: CliIo): Promise<ExitCode> {
  const reference = parseReference(ref);
  if (reference.digest === undefined) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `${ref}: pull needs a digest reference (…@sha256:…); run 'pinwarden resolve' first`,
    );
  }
  const limits = extractLimits(flags);
  const destination = resolvePath(io.cwd, flags.output);
  const verification = await verificationOf(flags, io);
  const call = await callFor(flags);
  const repository = await openRepository(reference, flags, io);
  const shown = formatReference(reference);
  try {
    const pulled = await pullArtifact({
      repository,
      subject: reference.digest,
      verification,
      layerSelector: {
        ...(flags.layerMediaType !== undefined ? { mediaType: flags.layerMediaType } : {}),
        operation: flags.layerOperation === 'copy' ? 'copy' : 'extract',
      },
      destination,
      limits,
      call,
    });
    if (!verification)
      io.stderr(`pinwarden: WARNING ${shown} was extracted WITHOUT signature verification (--skip-verify)\n`);
    for (const warning of pulled.warnings) io.stderr(`pinwarden: warning: ${warning}\n`);
    io.stdout(
      flags.format === 'json'
        ? `${JSON.stringify(pulledJson(shown, pulled, verification), null, 2)}\n`
        : describePulled(shown, pulled),
    );
    return 0;
  } catch (error) {
    if (!(error instanceof PinwardenError) || error.kind !== 'verification') throw error;
    io.stderr(describeFailure(shown, error).replace(/^Verification FAILED/, 'Pull FAILED (nothing extracted)'));
    return error.exitCode;
  } finally {
    repository.close();
  }
}

async function verificationOf(flags: PullFlags, io: CliIo): Promise<PullVerification | undefined> {
  const mode = bindingMode(flags);
  if (flags.skipVerify === true) {
    const given = [
      flags.issuer,
      flags.subject,
      flags.key,
      flags.certificateIdentity,
      flags.certificateIdentityRegexp,
      flags.certificateOidcIssuer,
      flags.certificateOidcIssuerRegexp,
      flags.trustedRoot,
    ];
    if (given.some((value) => value !== undefined) || flags.requireTlog === true) {
      throw new PinwardenError(
        'PW_INPUT_INVALID',
        '--skip-verify cannot be combined with identity, key or trust flags',
      );
    }
    return undefined;
  }
  const block = verifyBlock(flags);
  return { block, options: await verificationOptions(flags, io), checks: { bindingMode: mode } };
}

function extractLimits(flags: PullFlags): ExtractLimits {
  return {
    maxFiles:
      flags.maxFiles === undefined
        ? DEFAULT_EXTRACT_LIMITS.maxFiles
        : positiveIntegerFlag('--max-files', flags.maxFiles),
    maxBytes: flags.maxSize === undefined ? DEFAULT_EXTRACT_LIMITS.maxBytes : sizeFlag('--max-size', flags.maxSize),
    maxRatio:
      flags.maxRatio === undefined
        ? DEFAULT_EXTRACT_LIMITS.maxRatio
        : positiveIntegerFlag('--max-ratio', flags.maxRatio),
  };
}

function describePulled(reference: string, pulled: PulledArtifact): string {
  const rows: [string, string | undefined][] = [
    ['directory', pulled.directory],
    ['layer', `${pulled.layer.digest} (${pulled.layer.size} bytes, ${pulled.operation})`],
    ['files', pulled.files === undefined ? undefined : `${pulled.files} (${pulled.bytes ?? 0} bytes)`],
    ['file', pulled.file],
    ['source', pulled.annotations['org.opencontainers.image.source']],
    ['revision', pulled.annotations['org.opencontainers.image.revision']],
    ...signatureRows(pulled.signature),
    ['commit binding', describeBinding(pulled.binding)],
  ];
  const lines = rows
    .filter((row): row is [string, string] => row[1] !== undefined)
    .map(([label, value]) => `  ${`${label}:`.padEnd(17)}${value}`);
  return `Pulled OK: ${reference}\n${lines.join('\n')}\n`;
}

function signatureRows(signature: VerifiedSignature | undefined): [string, string | undefined][] {
  if (!signature) return [['verified', 'NO (--skip-verify)']];
  return [
    ['verified', `${signature.kind} (${signature.mode}), from ${signature.source}`],
    ['issuer', signature.issuer],
    ...signature.subjects.map((san): [string, string] => ['subject', san]),
    ['key', signature.keyName],
    ['log index', signature.logIndex],
    ...claimRows(signature),
  ];
}

function pulledJson(reference: string, pulled: PulledArtifact, verification: PullVerification | undefined): object {
  return {
    reference,
    digest: pulled.digest,
    directory: pulled.directory,
    layer: pulled.layer,
    operation: pulled.operation,
    ...(pulled.file !== undefined ? { file: pulled.file } : {}),
    ...(pulled.files !== undefined ? { files: pulled.files, bytes: pulled.bytes } : {}),
    annotations: pulled.annotations,
    verified: pulled.signature ?? null,
    ...(pulled.binding && verification
      ? { commitBinding: bindingJson(verification.checks.bindingMode, pulled.binding) }
      : {}),
    warnings: pulled.warnings,
  };
}
