// `pinwarden push` and `pinwarden resolve` as users run them, against the real registry: the real entry point
// in a child process for each exit code (0 ok, 1 registry failure, 2 bad flags), the remaining cases through
// the same commander program in-process (a child costs about a second of module loading).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runCli } from '../../../src/cli/program.ts';
import { REPO_ROOT, runBuiltCli } from '../../helpers/cli.ts';
import type { CliRun } from '../../helpers/cli.ts';
import { startRegistry } from '../../helpers/registry.ts';
import type { TestRegistry } from '../../helpers/registry.ts';
import { makeManifestsDir } from './fixtures.ts';

let plain: TestRegistry;
let secured: TestRegistry;
let manifests: Awaited<ReturnType<typeof makeManifestsDir>>;
let home: string;

type Run = CliRun;

/** The built entry point in a child process, with HOME pointing at this test's own (empty) docker config. */
function pinwarden(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runBuiltCli(args, { inheritEnv: false, env: { HOME: home, ...env } });
}

/** In-process run through the same program (fast), for cases whose process behaviour is covered above. */
async function inProcess(args: string[], env: Record<string, string> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    stdin: Readable.from([]),
    isTty: false,
    env: { HOME: home, ...env },
    cwd: REPO_ROOT,
  });
  return { code, stdout, stderr };
}

before(async () => {
  [plain, secured, manifests, home] = await Promise.all([
    startRegistry({ mode: 'plain' }),
    startRegistry({ mode: 'tls', auth: 'basic' }),
    makeManifestsDir(),
    mkdtemp(join(tmpdir(), 'pinwarden-home-')),
  ]);
});

after(async () => {
  await Promise.all([
    plain?.stop(),
    secured?.stop(),
    manifests?.cleanup(),
    home ? rm(home, { recursive: true, force: true }) : undefined,
  ]);
});

test('push prints the digest reference; resolve prints the same digest (tag, suffix, semver)', async () => {
  const ref = `oci://${plain.host}/cli/app`;
  const pushed = await pinwarden([
    'push',
    manifests.dir,
    `${ref}:v1.2.3`,
    '--source',
    'https://github.com/acme/fleet',
    '--revision',
    'main@sha1:abc',
    '--reproducible',
    '--insecure',
  ]);
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.match(pushed.stdout, new RegExp(`^oci://${plain.host}/cli/app@sha256:[a-f0-9]{64}\\n$`));
  const digest = pushed.stdout.trim().split('@')[1];

  const runs = await Promise.all([
    pinwarden(['resolve', ref, '--tag', 'v1.2.3', '--insecure']),
    inProcess(['resolve', `${ref}:v1.2.3`, '--insecure']),
    inProcess([
      'resolve',
      ref,
      '--semver',
      '>=1.0.0 <2.0.0',
      '--semver-filter',
      '^v1\\.',
      '--insecure',
      '--timeout',
      '5',
    ]),
  ]);
  for (const run of runs) {
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${digest}\n`);
  }
});

test('registry failures exit 1 with one line and no stack', async () => {
  const ref = `oci://${plain.host}/cli/app`;
  const [missing, notInsecure, noSemver] = await Promise.all([
    pinwarden(['resolve', ref, '--tag', 'nope', '--insecure']),
    inProcess(['resolve', ref, '--tag', 'v1.2.3']),
    inProcess(['resolve', ref, '--semver', '>=9.0.0', '--insecure']),
  ]);
  assert.deepEqual([missing.code, notInsecure.code, noSemver.code], [1, 1, 1]);
  assert.match(missing.stderr, /^pinwarden: .*MANIFEST_UNKNOWN.*\[PW_MANIFEST_UNKNOWN\]\n$/);
  assert.match(notInsecure.stderr, /does not speak TLS.*\[PW_REGISTRY_UNREACHABLE\]\n$/);
  assert.match(noSemver.stderr, /\[PW_NO_MATCHING_TAG\]\n$/);
  for (const run of [missing, noSemver, notInsecure]) assert.equal(run.stderr.split('\n').length, 2);
});

test('bad flags and references exit 2', async () => {
  const ref = `oci://${plain.host}/cli/app`;
  const spawned = await pinwarden(['resolve', ref, '--bogus']);
  assert.equal(spawned.code, 2, spawned.stderr);
  const cases = [
    ['resolve', ref, '--tag', 'a', '--semver', '1.x'],
    ['resolve', ref],
    ['resolve', 'https://example.com/app', '--tag', 'a'],
    ['resolve', ref, '--semver-filter', 'x', '--tag', 'a'],
    ['resolve', ref, '--semver', '>=1', '--semver-filter', '(a)\\1', '--insecure'],
    ['resolve', ref, '--tag', 'a', '--timeout', 'soon'],
    ['resolve', ref, '--tag', 'a', '--docker-config', '/nonexistent/config.json'],
    ['resolve', ref, '--tag', 'a', '--cert-file', '/tmp/x.pem'],
    ['push', manifests.dir, `${ref}:v1`, '--revision', 'r'],
    ['push', manifests.dir, ref, '--source', 's', '--revision', 'r'],
    ['push', '/nonexistent/dir', `${ref}:v1`, '--source', 's', '--revision', 'r', '--insecure'],
  ];
  for (const args of cases) {
    const run = await inProcess(args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
  }
});

test('credentials from --docker-config or $DOCKER_CONFIG, TLS from --ca-file', async () => {
  const user = secured.user!;
  const configDir = await mkdtemp(join(home, 'docker-'));
  await writeFile(
    join(configDir, 'config.json'),
    JSON.stringify({ auths: { [secured.host]: { username: user.username, password: user.password } } }),
  );
  const caFile = join(home, 'ca.pem');
  await writeFile(caFile, secured.tls!.caPem);
  const ref = `oci://${secured.host}/cli/secure:v1`;
  const pushed = await inProcess([
    'push',
    manifests.dir,
    ref,
    '--source',
    's',
    '--revision',
    'r',
    '--ca-file',
    caFile,
    '--docker-config',
    join(configDir, 'config.json'),
  ]);
  assert.equal(pushed.code, 0, pushed.stderr);
  const [viaEnv, anonymous, untrusted] = await Promise.all([
    inProcess(['resolve', ref, '--ca-file', caFile], { DOCKER_CONFIG: configDir }),
    inProcess(['resolve', ref, '--ca-file', caFile]),
    inProcess(['resolve', ref], { DOCKER_CONFIG: configDir }),
  ]);
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.equal(viaEnv.stdout.trim(), pushed.stdout.trim().split('@')[1]);
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /\[PW_REGISTRY_AUTH\]/);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /TLS failed.*\[PW_REGISTRY_UNREACHABLE\]/);
  assert.ok(!`${anonymous.stderr}${untrusted.stderr}`.includes(user.password));
});
