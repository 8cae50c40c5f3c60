// The signature e2e suite against Debian's real docker-registry (distribution 2.8, no referrers API, so bundles
// are found through the `sha256-<hex>` tag schema), through the HTTP Repository; plus the limits that only a
// real registry exercises (a .sig tag at a manifest list, an oversized signature manifest).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpRepository } from '../../../src/oci/index.ts';
import { verifyArtifactSignature } from '../../../src/signature/index.ts';
import { startRegistry } from '../../helpers/registry.ts';
import type { TestRegistry } from '../../helpers/registry.ts';
import { createSigstoreFixture, mintLeaf } from '../../helpers/sigstore-fixtures.ts';
import type { SigstoreFixture } from '../../helpers/sigstore-fixtures.ts';
import {
  attachBundle,
  attachLegacy,
  dsseBundle,
  legacySignature,
  pushArtifact,
} from '../../helpers/sigstore-fixtures-sign.ts';
import { KEYLESS, expectCode, optionsFor, signatureE2e } from '../../unit/signature/e2e-suite.ts';

let registry: TestRegistry;
let counter = 0;
before(async () => {
  registry = await startRegistry({ mode: 'plain' });
});
after(() => registry.stop());

const open = (): HttpRepository =>
  new HttpRepository(
    { registry: registry.host, host: registry.host, path: `acme/app-${++counter}` },
    { insecure: true },
  );

signatureE2e('docker-registry', open);

let fixture: SigstoreFixture;
before(async () => {
  fixture = await createSigstoreFixture();
});

test('docker-registry: both formats attached to one artifact; the bundle is found via the referrers tag schema', async () => {
  const repo = open();
  const artifact = await pushArtifact(repo, 'both');
  const leaf = await mintLeaf(fixture.ca);
  await attachLegacy(repo, artifact, [legacySignature(leaf, repo.name, artifact.digest, { rekor: fixture.rekor })]);
  const referrer = await attachBundle(repo, artifact, dsseBundle(leaf, artifact.digest, { rekor: fixture.rekor }));
  const verified = await verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture));
  assert.deepEqual([verified.kind, verified.source], ['bundle', referrer.digest]);
  const paths = registry.requestLog.map((r) => `${r.method} ${r.path} ${r.status}`);
  // distribution 2.8 has no referrers API (and does not log the 404 of an unknown route): the tag schema answered.
  assert.ok(
    paths.some((p) => p.includes(`/manifests/${artifact.digest.replace(':', '-')} 200`)),
    paths.join('\n'),
  );
  repo.close();
});

test('docker-registry: an oversized .sig manifest is refused by size before parsing', async () => {
  const repo = open();
  const artifact = await pushArtifact(repo, 'big');
  const leaf = await mintLeaf(fixture.ca);
  const genuine = legacySignature(leaf, repo.name, artifact.digest, { rekor: fixture.rekor });
  await attachLegacy(repo, artifact, [
    { ...genuine, annotations: { ...genuine.annotations, padding: 'x'.repeat(1100 * 1024) } },
  ]);
  await expectCode(
    verifyArtifactSignature(repo, artifact, KEYLESS, optionsFor(fixture)),
    'PW_TOO_LARGE',
    /over the cap of 1048576/,
  );
  repo.close();
});
