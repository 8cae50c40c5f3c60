// The CLI's own surface, spawned as `dist/main.js`: commander's errors in the catalogue's one-line shape,
// help that ends with examples and exit codes, required options marked, old flag names hidden but working,
// and a one-line refusal on a Node older than 24.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { REPO_ROOT, builtCli, runBuiltCli } from '../../helpers/cli.ts';

const COMMANDS = ['check', 'resolve', 'push', 'verify', 'serve'];

test("commander's errors are 'pinwarden: MESSAGE [PW_USAGE]' and exit 2", async () => {
  const cases: Array<[string[], RegExp]> = [
    [['check', '--bogus'], /^pinwarden: unknown option '--bogus' \[PW_USAGE\]\n/],
    [['nope'], /^pinwarden: unknown command 'nope' \[PW_USAGE\]\n/],
    [
      ['check', '-o', 'xml', 'x.yaml'],
      /^pinwarden: option '-o, --output <format>' argument 'xml' is invalid\. Allowed choices are text, json, sarif, yaml\. \[PW_USAGE\]\n/,
    ],
    [
      ['push', 'dir', 'oci://r.example/a/b:v1', '--revision', 'r'],
      /^pinwarden: required option '--source <url>' not specified \[PW_USAGE\]\n/,
    ],
    [['verify'], /^pinwarden: missing required argument 'ref' \[PW_USAGE\]\n/],
    [
      ['serve', '--port', 'eighty'],
      /^pinwarden: option '--port <port>' argument 'eighty' is invalid\. must be a port number \(0-65535\) \[PW_USAGE\]\n/,
    ],
  ];
  for (const [args, expected] of cases) {
    const run = await runBuiltCli(args);
    assert.equal(run.code, 2, args.join(' '));
    assert.match(run.stderr, expected, args.join(' '));
    assert.ok(!/\n\s+at /.test(run.stderr), 'no stack trace');
  }
});

test('every --help ends with examples and the exit codes; required options are marked', async () => {
  for (const command of COMMANDS) {
    const run = await runBuiltCli([command, '--help']);
    assert.equal(run.code, 0, command);
    const examples = /\nExamples:\n((?: {2}\$ .*pinwarden .*\n)+)\nExit codes: 0 .*\n$/.exec(run.stdout);
    assert.ok(examples, `${command} --help ends with examples and exit codes:\n${run.stdout}`);
    const count = examples[1]!.trim().split('\n').length;
    assert.ok(count >= 2 && count <= 3, `${command}: ${count} examples`);
    for (const line of examples[1]!.trim().split('\n')) assert.ok(line.includes(`pinwarden ${command} `), line);
  }
  const push = await runBuiltCli(['push', '--help']);
  assert.match(push.stdout, /--source <url>[^]*?\(required\)\n/);
  assert.match(push.stdout, /--revision <rev>[^]*?\(required\)\n/);
  assert.doesNotMatch(
    push.stdout.replace(/--revision <rev>[^]*?\(required\)\n/, '').replace(/--source <url>[^]*?\(required\)\n/, ''),
    /\(required\)/,
  );
});

test('the renamed flags are shown, their old names are hidden', async () => {
  const resolve = await runBuiltCli(['resolve', '--help']);
  assert.match(resolve.stdout, /--client-cert <file>/);
  assert.match(resolve.stdout, /--client-key <file>/);
  assert.match(resolve.stdout, /--timeout <duration> .*Go duration/);
  assert.doesNotMatch(resolve.stdout, /--cert-file|--key-file/);
  const push = await runBuiltCli(['push', '--help']);
  assert.match(push.stdout, /-a, --annotation <key=value>/);
  assert.doesNotMatch(push.stdout, /--annotations/);
  const verify = await runBuiltCli(['verify', '--help']);
  for (const flag of [
    '--certificate-identity <value>',
    '--certificate-identity-regexp <regexp>',
    '--certificate-oidc-issuer <value>',
    '--certificate-oidc-issuer-regexp <regexp>',
    '--key <file>',
    '--client-key <file>',
  ]) {
    assert.ok(verify.stdout.includes(flag), flag);
  }
});

test('push -a takes one value per flag: the directory after it is an argument again', async () => {
  // Before, `-a k=v DIR REF` swallowed DIR into the annotations; now DIR is read (and is missing here).
  const run = await runBuiltCli([
    'push',
    '-a',
    'team=web',
    '/nonexistent/dir',
    'oci://127.0.0.1:1/acme/app:v1',
    '--source',
    's',
    '--revision',
    'r',
    '--insecure',
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /\/nonexistent\/dir/);
  const bad = await runBuiltCli([
    'push',
    REPO_ROOT,
    'oci://127.0.0.1:1/acme/app:v1',
    '-a',
    'novalue',
    '--source',
    's',
    '--revision',
    'r',
    '--insecure',
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--annotation expects key=value, got 'novalue' \[PW_INPUT_INVALID\]/);
});

/** A `node` on PATH older than 24 (the machine's own), if there is one. */
function olderNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'node');
    if (!dir || !existsSync(candidate)) continue;
    try {
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
      if (Number(version.replace(/^v/, '').split('.')[0]) < 24) return candidate;
    } catch {
      continue;
    }
  }
  return existsSync('/usr/bin/node') &&
    !execFileSync('/usr/bin/node', ['--version'], { encoding: 'utf8' }).startsWith('v24')
    ? '/usr/bin/node'
    : undefined;
}

test('on a Node older than 24 dist/main.js prints one line and exits 2', (t) => {
  const node = olderNode();
  if (node === undefined) {
    t.skip('no Node older than 24 on this machine (the unit test of nodeVersionProblem still runs)');
    return;
  }
  const run = spawnSync(node, [builtCli(), 'check', 'examples/manifests'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(run.status, 2);
  assert.match(
    run.stderr,
    /^pinwarden: Node\.js 24 or newer is required, this is Node\.js \d+\.\d+\.\d+ .*\[PW_NODE_UNSUPPORTED\]\n$/,
  );
  assert.equal(run.stdout, '');
});
