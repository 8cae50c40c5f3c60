/**
 * cosign's keyless identity flags as aliases of pinwarden's `--issuer` / `--subject`, so the line people copy
 * from `cosign verify` works here:
 * - `--certificate-identity-regexp RE` = `--subject RE`, `--certificate-oidc-issuer-regexp RE` = `--issuer RE`;
 * - `--certificate-identity VALUE` / `--certificate-oidc-issuer VALUE` are exact matches: pinwarden quotes the
 *   value (Go regexp.QuoteMeta) and anchors it `^…$`, because Flux matches identities unanchored.
 * Giving two spellings of the same field is a usage error, never a silent pick.
 */
import { Option, type Command } from 'commander';
import { PinwardenError } from '../../core/errors.ts';

export interface CosignIdentityFlags {
  issuer?: string;
  subject?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
}

export function addCosignIdentityOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--certificate-identity <value>',
        'cosign name: exact certificate SAN (pinwarden quotes and anchors it)',
      ),
    )
    .addOption(new Option('--certificate-identity-regexp <regexp>', 'cosign name for --subject'))
    .addOption(
      new Option(
        '--certificate-oidc-issuer <value>',
        'cosign name: exact OIDC issuer (pinwarden quotes and anchors it)',
      ),
    )
    .addOption(new Option('--certificate-oidc-issuer-regexp <regexp>', 'cosign name for --issuer'));
}

/** The issuer and subject regexps after folding the cosign spellings in. */
export function identityRegexps(flags: CosignIdentityFlags): { issuer?: string; subject?: string } {
  const issuer = pick('issuer', [
    ['--issuer', flags.issuer],
    ['--certificate-oidc-issuer-regexp', flags.certificateOidcIssuerRegexp],
    ['--certificate-oidc-issuer', exact(flags.certificateOidcIssuer)],
  ]);
  const subject = pick('subject', [
    ['--subject', flags.subject],
    ['--certificate-identity-regexp', flags.certificateIdentityRegexp],
    ['--certificate-identity', exact(flags.certificateIdentity)],
  ]);
  return { ...(issuer !== undefined ? { issuer } : {}), ...(subject !== undefined ? { subject } : {}) };
}

function pick(field: string, spellings: Array<[string, string | undefined]>): string | undefined {
  const given = spellings.filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (given.length > 1) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `${given.map(([flag]) => flag).join(' and ')} both set the ${field}; give one`,
    );
  }
  return given[0]?.[1];
}

function exact(value: string | undefined): string | undefined {
  return value === undefined ? undefined : `^${quoteMeta(value)}$`;
}

/** Go's regexp.QuoteMeta: escapes every character that is special in RE2 syntax. */
export function quoteMeta(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
