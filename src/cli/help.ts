/**
 * What every `--help` ends with: two or three examples people can paste, and the exit codes. Required
 * options are marked "(required)" in the option list. One table, so the help texts cannot drift apart.
 */
import { Help, type Command, type Option } from 'commander';

const EXIT_CODES: Readonly<Record<string, string>> = {
  check:
    '0 nothing denied (warn mode included), 1 something denied, 2 usage or input error (bad flag, unreadable path, malformed YAML, no documents without --allow-empty)',
  resolve: '0 digest printed, 1 registry failure or no matching tag, 2 usage or input error',
  push: '0 pushed (digest reference printed), 1 registry failure or unsafe content, 2 usage or input error',
  verify: '0 verified, 1 no signature verified or registry failure, 2 usage or input error',
  pull: '0 verified and extracted, 1 verification failed, content did not match its digest, unsafe artifact or registry failure (nothing extracted), 2 usage or input error (bad flag, reference, or an output directory that is not empty)',
  serve:
    '0 stopped by SIGTERM/SIGINT after draining, 2 usage or input error (bad flag, unusable certificate, invalid policy)',
  pinwarden:
    '0 ok, 1 policy violation or verification failure, 2 usage or input error; errors print "pinwarden: MESSAGE [PW_CODE]" (docs/errors.md)',
};

const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  check: [
    'pinwarden check clusters/ --config policy.yaml --exclude "tests/**"',
    'kustomize build overlays/prod | pinwarden check - --origin-root overlays/prod -o sarif > pinwarden.sarif',
    'pinwarden check manifests/ --resolve -o yaml > admitted.yaml',
  ],
  resolve: [
    'pinwarden resolve oci://ghcr.io/stefanprodan/manifests/podinfo --tag 6.1.6',
    'pinwarden resolve oci://ghcr.io/acme/app --semver ">=1.0.0 <2.0.0" --timeout 1m',
  ],
  push: [
    'pinwarden push ./deploy oci://registry.example.com/acme/app:v1.2.3 --source https://github.com/acme/app --revision "main@sha1:$GITHUB_SHA"',
    'pinwarden push ./deploy oci://localhost:5000/app:dev --source . --revision dev -a team=payments -a tier=web --insecure',
  ],
  verify: [
    'pinwarden verify oci://ghcr.io/acme/app@sha256:… --certificate-oidc-issuer https://token.actions.githubusercontent.com --certificate-identity-regexp "^https://github\\.com/acme/app/"',
    'pinwarden verify oci://ghcr.io/acme/app@sha256:… --key cosign.pub --require-tlog',
  ],
  pull: [
    'pinwarden pull oci://ghcr.io/acme/app@sha256:… -o ./app --certificate-oidc-issuer https://token.actions.githubusercontent.com --certificate-identity-regexp "^https://github\\.com/acme/app/"',
    'pinwarden pull oci://registry.example.com/acme/app@sha256:… -o ./app --key cosign.pub --commit-binding enforce',
    'pinwarden pull oci://localhost:5000/app@sha256:… -o ./app --key cosign.pub --insecure --max-size 4GiB --max-files 50000',
  ],
  serve: [
    'pinwarden serve --config examples/policy.yaml',
    'pinwarden serve --host 127.0.0.1 --port 9443 --tls-cert tls.crt --tls-key tls.key --log-level debug',
  ],
  pinwarden: ['pinwarden check manifests/ --config policy.yaml', 'pinwarden COMMAND --help'],
};

/** Marks required options in every command's option list (set on the program, inherited by commands). */
export const HELP_CONFIGURATION = {
  optionDescription(this: Help, option: Option): string {
    const text = Help.prototype.optionDescription.call(this, option);
    return option.mandatory ? `${text} (required)` : text;
  },
};

/** Appends the examples and exit codes of `name` to a command's help. */
export function addHelpFooter(command: Command, name: string): void {
  const examples = EXAMPLES[name] ?? [];
  const exits = EXIT_CODES[name];
  const lines = [
    '',
    'Examples:',
    ...examples.map((example) => `  $ ${example}`),
    '',
    `Exit codes: ${exits ?? EXIT_CODES.pinwarden}`,
  ];
  command.addHelpText('after', lines.join('\n'));
}
