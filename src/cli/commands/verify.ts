/**
 * `pinwarden verify oci://HOST/REPO@sha256:… (--issuer RE --subject RE | --key FILE) [--trusted-root FILE]`:
 * verifies the artifact's cosign signature like `cosign verify` (legacy `.sig` and bundle referrers, offline
 * against the public-good root or the given trusted_root.json) and prints the verified identity.
 * Exit 0 verified, 1 no signature verified (every candidate's reason on stderr) or registry failure,
 * 2 on bad flags, references or unreadable files.
 */
import { basename, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { PinwardenError } from '../../core/errors.ts';
import { formatReference, parseReference } from '../../oci/index.ts';
import { fixedTrustRootSource, parseTrustedRoot, verifyArtifactSignature } from '../../signature/index.ts';
import type {
  FailureReason,
  OciVerifyBlock,
  VerifiedSignature,
  VerifySignatureOptions,
} from '../../signature/index.ts';
import { readInputFile } from '../../runtime/index.ts';
import type { CliIo } from '../io.ts';
import type { ExitCode, SetExit } from '../command.ts';
import { verifyWithChecks } from '../../flows/pull/index.ts';
import { addCosignIdentityOptions, identityRegexps, type CosignIdentityFlags } from '../flags/cosign-identity.ts';
import {
  addBindingOptions,
  bindingJson,
  bindingMode,
  claimPatterns,
  describeBinding,
} from '../flags/commit-binding.ts';
import type { BindingFlags } from '../flags/commit-binding.ts';
import { addRegistryOptions, callFor, openRepository } from '../registry-options.ts';
import type { RegistryFlags } from '../registry-options.ts';

export interface VerifyFlags extends RegistryFlags, CosignIdentityFlags, BindingFlags {
  key?: string;
  trustedRoot?: string;
  requireTlog?: boolean;
  output: string;
}

const KEY_SECRET = 'cli --key';

export function registerVerify(program: Command, io: CliIo, setExit: SetExit): Command {
  const command = program
    .command('verify')
    .description(
      'Verify the cosign signature of an artifact digest (keyless identity or public key) and print who signed it.',
    )
    .argument('<ref>', 'oci://HOST/REPO@sha256:…');
  addSignerOptions(command).option('--output <format>', 'text or json', 'text');
  return addRegistryOptions(addBindingOptions(addCosignIdentityOptions(command))).action(
    async (ref: string, flags: VerifyFlags) => {
      setExit(await runVerify(ref, flags, io));
    },
  );
}

export async function runVerify(ref: string, flags: VerifyFlags, io: CliIo): Promise<ExitCode> {
  if (flags.output !== 'text' && flags.output !== 'json') {
    throw new PinwardenError('PW_INPUT_INVALID', `--output must be text or json, got '${flags.output}'`);
  }
  const reference = parseReference(ref);
  if (reference.digest === undefined) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `${ref}: verify needs a digest reference (…@sha256:…); run 'pinwarden resolve' first`,
    );
  }
  const verify = verifyBlock(flags);
  bindingMode(flags);
  const options = { ...(await verificationOptions(flags, io)), call: await callFor(flags) };
  const repository = await openRepository(reference, flags, io);
  try {
    const subject = await repository.resolve(reference.digest, options.call);
    const mode = bindingMode(flags);
    const { signature: verified, binding } = await verifyWithChecks(
      verifyArtifactSignature,
      repository,
      subject,
      verify,
      options,
      { bindingMode: mode },
    );
    const bindingField = binding ? { commitBinding: bindingJson(mode, binding) } : {};
    io.stdout(
      flags.output === 'json'
        ? `${JSON.stringify({ ...verified, ...bindingField }, null, 2)}\n`
        : describeVerified(formatReference(reference), verified, describeBinding(binding)),
    );
    return 0;
  } catch (error) {
    if (!(error instanceof PinwardenError) || error.kind !== 'verification') throw error;
    io.stderr(describeFailure(formatReference(reference), error));
    return error.exitCode;
  } finally {
    repository.close();
  }
}

export function verifyBlock(rawFlags: Omit<VerifyFlags, 'output'>): OciVerifyBlock {
  const flags = { ...rawFlags, ...identityRegexps(rawFlags) };
  const keyless = flags.issuer !== undefined || flags.subject !== undefined;
  if (keyless === (flags.key !== undefined)) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      'give either --issuer and --subject (keyless; cosign names: --certificate-oidc-issuer[-regexp], --certificate-identity[-regexp]) or --key FILE (key-based)',
    );
  }
  if (flags.key !== undefined)
    return { provider: 'cosign', secretRef: { name: KEY_SECRET }, ...claimPatterns(flags, false) };
  if (flags.issuer === undefined || flags.subject === undefined) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      '--issuer and --subject go together (use ".*" to accept any value on purpose)',
    );
  }
  if (flags.requireTlog)
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      '--require-tlog applies to --key only; keyless always requires the tlog',
    );
  return {
    provider: 'cosign',
    matchOIDCIdentity: [{ issuer: flags.issuer, subject: flags.subject, ...claimPatterns(flags, true) }],
  };
}

export async function verificationOptions(
  flags: Omit<VerifyFlags, 'output'>,
  io: CliIo,
): Promise<Omit<VerifySignatureOptions, 'call'>> {
  const options: Omit<VerifySignatureOptions, 'call'> = { requireTlog: flags.requireTlog === true };
  if (flags.trustedRoot !== undefined) {
    const file = resolvePath(io.cwd, flags.trustedRoot);
    options.trustRoots = fixedTrustRootSource(
      parseTrustedRoot(await readInput(file, '--trusted-root'), `file ${file}`),
    );
  }
  if (flags.key !== undefined) {
    const file = resolvePath(io.cwd, flags.key);
    const pem = (await readInput(file, '--key')).toString('utf8');
    const entry = basename(file).endsWith('.pub') ? basename(file) : `${basename(file)}.pub`;
    options.secrets = async (name) => (name === KEY_SECRET ? { [entry]: pem } : {});
  }
  return options;
}

function readInput(file: string, flag: string): Promise<Buffer> {
  return readInputFile(file, `${flag} ${file}`);
}

function describeVerified(reference: string, verified: VerifiedSignature, binding?: string): string {
  const rows: [string, string | undefined][] = [
    ['kind', `${verified.kind} (${verified.mode}), from ${verified.source}`],
    ['issuer', verified.issuer],
    ...verified.subjects.map((san): [string, string] => ['subject', san]),
    ['key', verified.keyName],
    ['log index', verified.logIndex],
    ['integrated time', verified.integratedTime?.toISOString()],
    ...claimRows(verified),
    ['commit binding', binding],
  ];
  const lines = rows
    .filter((row): row is [string, string] => row[1] !== undefined)
    .map(([label, value]) => `  ${`${label}:`.padEnd(17)}${value}`);
  return `Verified OK: ${reference}\n${lines.join('\n')}\n`;
}

/** The workflow claims that say what was built where (keyless certificates from CI). */
export function claimRows(verified: VerifiedSignature): [string, string | undefined][] {
  const values = verified.claims?.values ?? {};
  return [
    ['source repo', values.sourceRepositoryURI],
    ['source commit', values.sourceRepositoryDigest],
    ['source ref', values.sourceRepositoryRef],
    ['runner', values.runnerEnvironment],
    ['build signer', values.buildSignerURI],
    ['run', values.runInvocationURI],
    ...(verified.claims?.problems ?? []).map((problem): [string, string] => ['claim problem', problem]),
  ];
}

export function describeFailure(reference: string, error: PinwardenError): string {
  const reasons = Array.isArray(error.details.reasons) ? (error.details.reasons as FailureReason[]) : [];
  if (reasons.length === 0) return `Verification FAILED: ${reference}: ${error.message} [${error.code}]\n`;
  const lines = reasons.map((reason) => `  - ${reason.candidate}: ${reason.message} [${reason.code}]`);
  const untried = Number(error.details.untried ?? 0);
  if (untried > 0) lines.push(`  - ${untried} more candidate(s) not tried (over the candidate cap)`);
  return `Verification FAILED: ${reference} [${error.code}]\n${lines.join('\n')}\n`;
}

/** Who must have signed: the flags `verify` and `pull` share (the cosign aliases come from flags/cosign-identity). */
export function addSignerOptions(command: Command): Command {
  return command
    .option('--issuer <regexp>', 'Go regexp the OIDC issuer must match (keyless; with --subject)')
    .option('--subject <regexp>', 'Go regexp one certificate SAN must match (keyless; with --issuer)')
    .option('--key <file>', 'PEM cosign public key (key-based instead of keyless)')
    .option(
      '--trusted-root <file>',
      'Sigstore trusted_root.json (default: the public-good root shipped with pinwarden)',
    )
    .option('--require-tlog', 'key-based: also require a verified transparency-log entry (keyless always requires it)');
}
