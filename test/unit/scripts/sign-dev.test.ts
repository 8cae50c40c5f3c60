// scripts/sign-dev.ts (the cosign stand-in of the README's cluster-without-Flux walkthrough): bad input is a
// usage line and exit 2, before any registry is contacted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../helpers/cli.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const run = (args: string[]) =>
  spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'sign-dev.ts'), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });

test('no arguments: usage, exit 2', () => {
  const result = run([]);
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /usage: node scripts\/sign-dev\.ts --key/);
});

test('a tag instead of a digest, a missing key file and an RSA key are refused with exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-sign-dev-'));
  try {
    const p256 = join(dir, 'p256.pem');
    writeFileSync(
      p256,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
    );
    const rsa = join(dir, 'rsa.pem');
    writeFileSync(
      rsa,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
    );
    const tag = run(['--key', p256, 'oci://127.0.0.1:1/app:v1']);
    assert.equal(tag.status, 2, tag.stderr);
    assert.match(tag.stderr, /sign a digest/);
    const missing = run(['--key', join(dir, 'absent.pem'), `oci://127.0.0.1:1/app@${DIGEST}`]);
    assert.equal(missing.status, 2, missing.stderr);
    assert.match(missing.stderr, /not a readable unencrypted PEM private key/);
    const wrongType = run(['--key', rsa, `oci://127.0.0.1:1/app@${DIGEST}`]);
    assert.equal(wrongType.status, 2, wrongType.stderr);
    assert.match(wrongType.stderr, /ECDSA P-256 key is required/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
