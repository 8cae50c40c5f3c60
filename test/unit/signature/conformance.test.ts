// Every case of sigstore-conformance `bundle-verify` through our bundle verifier. The expected result comes
// from the directory name (`_fail` = must fail); each case is one test, and a final test prints the counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RE2JS } from 're2js';
import { identityPolicy } from '../../../src/signature/identity.ts';
import { parsePublicKey } from '../../../src/signature/keys.ts';
import type { SignerPolicy } from '../../../src/signature/bundle-verify.ts';
import { verifyBundleBytes } from '../../../src/signature/bundle-verify.ts';
import { parseTrustedRoot, publicGoodTrustRoot } from '../../../src/signature/trust-root.ts';

const SUITE = join(import.meta.dirname, '../../../../shared/data/sigstore/conformance/bundle-verify');
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

const counts = { verified: 0, expectedFailures: 0, unexpected: [] as string[] };
const cases = readdirSync(SUITE)
  .filter((name) => statSync(join(SUITE, name)).isDirectory())
  .sort();

function optionalText(dir: string, file: string): string | undefined {
  const path = join(dir, file);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}

/** The suite's exact identity, as an anchored Go regexp. */
const exactly = (value: string): string => `^${RE2JS.quote(value)}$`;

function verifyCase(dir: string): string {
  const rootPath = join(dir, 'trusted_root.json');
  const trustRoot = existsSync(rootPath) ? parseTrustedRoot(readFileSync(rootPath), rootPath) : publicGoodTrustRoot();
  const artifactPath = existsSync(join(dir, 'artifact')) ? join(dir, 'artifact') : join(SUITE, 'a.txt');
  const keyPem = optionalText(dir, 'key.pub');
  const signer: SignerPolicy = keyPem
    ? { mode: 'key', keys: [parsePublicKey('key.pub', keyPem, dir)], requireTlog: true, trustRoot }
    : {
        mode: 'keyless',
        trustRoot,
        identity: identityPolicy([
          {
            issuer: exactly(optionalText(dir, 'issuer') ?? DEFAULT_ISSUER),
            subject: exactly(optionalText(dir, 'identity') ?? DEFAULT_IDENTITY),
          },
        ]),
      };
  const outcome = verifyBundleBytes(
    readFileSync(join(dir, 'bundle.sigstore.json')),
    { artifact: readFileSync(artifactPath) },
    signer,
  );
  return outcome.mode === 'key' ? `key ${outcome.keyName}` : `${outcome.issuer} ${outcome.subjects.join(',')}`;
}

for (const name of cases) {
  const dir = join(SUITE, name);
  if (name.endsWith('_fail')) {
    test(`conformance ${name}: rejects (expected failure)`, (t) => {
      try {
        const who = verifyCase(dir);
        counts.unexpected.push(name);
        assert.fail(`verified (${who}) but the suite expects a failure`);
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        counts.expectedFailures += 1;
        t.diagnostic(`${(error as { code?: string }).code ?? (error as Error).name}: ${(error as Error).message}`);
      }
    });
  } else {
    test(`conformance ${name}: verifies`, (t) => {
      try {
        t.diagnostic(verifyCase(dir));
        counts.verified += 1;
      } catch (error) {
        counts.unexpected.push(name);
        throw error;
      }
    });
  }
}

test('conformance summary', (t) => {
  const summary = `${cases.length} cases: ${counts.verified} passed, ${counts.expectedFailures} expected failures, ${counts.unexpected.length} unexpected${counts.unexpected.length ? ` (${counts.unexpected.join(', ')})` : ''}`;
  t.diagnostic(summary);
  console.log(`# ${summary}`);
  assert.ok(cases.length >= 70, 'the suite is present');
  assert.deepEqual(counts.unexpected, []);
  assert.equal(counts.verified + counts.expectedFailures, cases.length);
});
