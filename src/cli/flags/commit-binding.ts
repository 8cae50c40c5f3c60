/**
 * The commit-binding and certificate-claim flags of `pinwarden verify` (and `pull` when it lands), kept apart
 * from the command files: `--commit-binding off|warn|enforce` (default warn, as the policy) checks the
 * artifact's source/revision annotations against the signing workflow's claims; `--source-repository-ref`,
 * `--runner-environment`, `--build-signer-uri` are Go regexps (unanchored) the certificate's claims must match.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { BindingDecision, ClaimConstraints, CommitBindingMode } from '../../core/binding/index.ts';
import { COMMIT_BINDING_MODES, describeBound } from '../../core/binding/index.ts';
import { PinwardenError } from '../../core/errors.ts';

export interface BindingFlags {
  commitBinding?: string;
  sourceRepositoryRef?: string;
  runnerEnvironment?: string;
  buildSignerUri?: string;
}

export function addBindingOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--commit-binding <mode>',
        "the artifact's org.opencontainers.image.source/revision must be the repository and commit the signing workflow ran on",
      )
        .choices(COMMIT_BINDING_MODES)
        .default('warn'),
    )
    .option(
      '--source-repository-ref <regexp>',
      'keyless: Go regexp the certificate SourceRepositoryRef claim must match (e.g. ^refs/heads/main$)',
    )
    .option(
      '--runner-environment <regexp>',
      'keyless: Go regexp the certificate RunnerEnvironment claim must match (e.g. ^github-hosted$)',
    )
    .option(
      '--build-signer-uri <regexp>',
      'keyless: Go regexp the certificate BuildSignerURI claim (the signing workflow file) must match',
    );
}

export function bindingMode(flags: BindingFlags): CommitBindingMode {
  const mode = flags.commitBinding ?? 'warn';
  if (!(COMMIT_BINDING_MODES as readonly string[]).includes(mode)) {
    throw new PinwardenError('PW_INPUT_INVALID', `--commit-binding must be off, warn or enforce, got '${mode}'`);
  }
  return mode as CommitBindingMode;
}

/** The claim patterns for the keyless identity; refused with --key (a public key has no claims). */
export function claimPatterns(flags: BindingFlags, keyless: boolean): ClaimConstraints {
  const patterns: ClaimConstraints = {
    ...(flags.sourceRepositoryRef !== undefined ? { sourceRepositoryRef: flags.sourceRepositoryRef } : {}),
    ...(flags.runnerEnvironment !== undefined ? { runnerEnvironment: flags.runnerEnvironment } : {}),
    ...(flags.buildSignerUri !== undefined ? { buildSignerURI: flags.buildSignerUri } : {}),
  };
  if (!keyless && Object.keys(patterns).length > 0) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      '--source-repository-ref, --runner-environment and --build-signer-uri apply to keyless verification only (a public key carries no claims)',
    );
  }
  return patterns;
}

/** The text line printed beside the verified identity (undefined when the mode is off). */
export function describeBinding(decision: BindingDecision | undefined): string | undefined {
  if (!decision) return undefined;
  if (decision.check?.bound) return `bound to ${describeBound(decision.check)}`;
  if (decision.action === 'warn') return `WARNING ${decision.message}`;
  return decision.check && !decision.check.bound ? `not checked: ${decision.check.problems.join('; ')}` : undefined;
}

/** The JSON field: what was decided, with the certificate side when bound. */
export function bindingJson(
  mode: CommitBindingMode,
  decision: BindingDecision,
): {
  mode: CommitBindingMode;
  outcome: BindingDecision['action'] | 'bound';
  message?: string;
  commit?: string;
  repository?: string;
  ref?: string;
} {
  const check = decision.check;
  if (check?.bound)
    return {
      mode,
      outcome: 'bound',
      commit: check.commit,
      repository: check.repository,
      ...(check.ref !== undefined ? { ref: check.ref } : {}),
    };
  return { mode, outcome: decision.action, ...(check && !check.bound ? { message: check.problems.join('; ') } : {}) };
}
