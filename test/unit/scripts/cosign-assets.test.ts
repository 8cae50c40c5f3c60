// scripts/cosign-assets.ts: the cache path, the one-line instruction when the binary is missing, and the version
// pinned by the script matching the wrapper module's go.mod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COSIGN_VERSION, cosignCacheDir, findCosign } from '../../../scripts/cosign-assets.ts';
import { REPO_ROOT } from '../../helpers/cli.ts';

test('the cache is ~/.cache/pinwarden/cosign/<version>, or under PINWARDEN_COSIGN_CACHE', () => {
  assert.equal(cosignCacheDir({ HOME: '/h', PINWARDEN_COSIGN_CACHE: '/c' }), `/c/${COSIGN_VERSION}`);
  assert.equal(cosignCacheDir({ XDG_CACHE_HOME: '/x' }), `/x/pinwarden/cosign/${COSIGN_VERSION}`);
});

test('an empty cache is a one-line instruction to build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-cosign-'));
  try {
    const found = findCosign({ PINWARDEN_COSIGN_CACHE: dir });
    assert.ok('error' in found);
    assert.match(found.error, /^cosign v\d+\.\d+\.\d+ not found in .*: .*node scripts\/cosign-assets\.ts/);
    assert.equal(found.error.split('\n').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a binary without its stamp.json (an interrupted build) is not used', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-cosign-'));
  try {
    mkdirSync(join(dir, COSIGN_VERSION));
    writeFileSync(join(dir, COSIGN_VERSION, 'cosign'), '');
    assert.ok('error' in findCosign({ PINWARDEN_COSIGN_CACHE: dir }));
    writeFileSync(join(dir, COSIGN_VERSION, 'stamp.json'), '{}');
    assert.deepEqual(findCosign({ PINWARDEN_COSIGN_CACHE: dir }), { path: join(dir, COSIGN_VERSION, 'cosign') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the script builds the cosign release that test/cosign/go.mod requires', () => {
  const goMod = readFileSync(join(REPO_ROOT, 'test', 'cosign', 'go.mod'), 'utf8');
  assert.match(
    goMod,
    new RegExp(`^require github\\.com/sigstore/cosign/v3 ${COSIGN_VERSION.replaceAll('.', '\\.')}$`, 'm'),
  );
});
