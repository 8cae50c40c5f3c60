// Flags as the ecosystem spells them, on the built CLI: Go durations for --timeout, --client-cert/--client-key
// (old names still accepted), cosign's identity names. A closed port stands for the registry: a flag that is
// accepted gets as far as the connection (exit 1, unreachable); a refused one stops at exit 2 first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBuiltCli } from '../../helpers/cli.ts';

const CLOSED = 'oci://127.0.0.1:1/acme/app';
const DIGEST = `sha256:${'a'.repeat(64)}`;

test('--timeout takes Go durations (and bare seconds, as before)', async () => {
  // Each long enough that the closed port, not the deadline, ends the run, even on a loaded machine.
  const accepted = ['30s', '2m', '1m30s', '5000ms', '5'];
  const runs = await Promise.all(
    accepted.map((timeout) => runBuiltCli(['resolve', CLOSED, '--tag', 'v1', '--insecure', '--timeout', timeout])),
  );
  runs.forEach((run, index) => {
    assert.equal(run.code, 1, `${accepted[index]}: ${run.stderr}`);
    assert.match(run.stderr, /\[PW_REGISTRY_UNREACHABLE\]/);
  });
  for (const timeout of ['soon', '0s', '-5s', '2h', '1m30']) {
    const run = await runBuiltCli(['resolve', CLOSED, '--tag', 'v1', '--insecure', '--timeout', timeout]);
    assert.equal(run.code, 2, timeout);
    assert.match(
      run.stderr,
      /^pinwarden: --timeout takes a Go duration such as 30s, 2m or 1m30s .*\[PW_INPUT_INVALID\]\n$/,
    );
  }
});

test('--client-cert/--client-key, with the old --cert-file/--key-file as hidden aliases', async () => {
  const half = await runBuiltCli(['resolve', CLOSED, '--tag', 'v1', '--client-cert', '/tmp/x.pem']);
  assert.equal(half.code, 2);
  assert.match(half.stderr, /--client-cert and --client-key go together \[PW_INPUT_INVALID\]/);
  const old = await runBuiltCli([
    'resolve',
    CLOSED,
    '--tag',
    'v1',
    '--cert-file',
    '/nonexistent/c.pem',
    '--key-file',
    '/nonexistent/k.pem',
  ]);
  assert.equal(old.code, 2);
  assert.match(old.stderr, /--client-cert \/nonexistent\/c\.pem: no such file/, 'the old names feed the new flags');
  const both = await runBuiltCli([
    'resolve',
    CLOSED,
    '--tag',
    'v1',
    '--client-key',
    'a',
    '--key-file',
    'b',
    '--client-cert',
    'c',
  ]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--client-key and --key-file are the same flag; give one/);
});

test("verify takes cosign's identity flags; two spellings of one field are refused", async () => {
  const accepted = await runBuiltCli([
    'verify',
    `${CLOSED}@${DIGEST}`,
    '--insecure',
    '--timeout',
    '2s',
    '--certificate-oidc-issuer',
    'https://token.actions.githubusercontent.com',
    '--certificate-identity-regexp',
    '^https://github\\.com/acme/',
  ]);
  assert.equal(accepted.code, 1, accepted.stderr);
  assert.match(accepted.stderr, /\[PW_REGISTRY_UNREACHABLE\]/);
  const conflict = await runBuiltCli([
    'verify',
    `${CLOSED}@${DIGEST}`,
    '--issuer',
    'x',
    '--certificate-oidc-issuer',
    'y',
    '--subject',
    's',
  ]);
  assert.equal(conflict.code, 2);
  assert.match(
    conflict.stderr,
    /--issuer and --certificate-oidc-issuer both set the issuer; give one \[PW_INPUT_INVALID\]/,
  );
  const half = await runBuiltCli(['verify', `${CLOSED}@${DIGEST}`, '--certificate-identity', 'someone']);
  assert.equal(half.code, 2);
  assert.match(half.stderr, /--issuer and --subject go together/);
});
