/**
 * Cost of verifying one cosign signature, per kind, as medians of many runs and as a ratio to one bare
 * ECDSA P-256 `crypto.verify` over the same payload (the irreducible cost), measured in this process.
 * Rows: legacy keyless (self-made Fulcio/Rekor; real public-good signature with SCT), bundle keyless
 * (self-made v0.3 DSSE; cosign's public-good attestation), key-based legacy (node:crypto) and bundle
 * (sigstore-js, tlog stripped / required), and the full path through a Repository (discover, fetch, verify).
 * Run: node bench/signature-verify.ts   (RUNS=… to change the sample count)
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryRepository } from '../src/oci/index.ts';
import type { SignerPolicy } from '../src/signature/index.ts';
import {
  fixedTrustRootSource,
  identityPolicy,
  parsePublicKey,
  parseTrustedRoot,
  publicGoodTrustRoot,
  verifyArtifactSignature,
  verifyBundleBytes,
  verifyLegacySignature,
} from '../src/signature/index.ts';
import { createSigstoreFixture, mintLeaf, pemOfPublicKey } from '../test/helpers/sigstore-fixtures.ts';
import { attachLegacy, dsseBundle, legacySignature, pushArtifact } from '../test/helpers/sigstore-fixtures-sign.ts';
import { median, percentile, round, timeRuns } from './stats.ts';

const RUNS = Number(process.env.RUNS ?? 300);
const DATA = join(import.meta.dirname, '../../shared/data/sigstore');
const DIGEST = `sha256:${'b'.repeat(64)}` as const;
const anyIdentity = identityPolicy([{ issuer: '^https://', subject: '' }]);

interface Row {
  case: string;
  medianMs: number;
  p90Ms: number;
  ratio: number;
}

async function measure(name: string, fn: () => unknown, baselineMs: number): Promise<Row> {
  const durations = await timeRuns(fn, RUNS, Math.min(30, RUNS));
  const medianMs = median(durations);
  return {
    case: name,
    medianMs: round(medianMs, 3),
    p90Ms: round(percentile(durations, 90), 3),
    ratio: round(medianMs / baselineMs, 1),
  };
}

export async function benchSignatureVerify(): Promise<{ baselineMs: number; rows: Row[] }> {
  const fixture = await createSigstoreFixture();
  const root = parseTrustedRoot(fixture.trustedRootBytes, 'bench root');
  const keyless: SignerPolicy = { mode: 'keyless', trustRoot: root, identity: anyIdentity };
  const leaf = await mintLeaf(fixture.ca);
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyMaterial = [parsePublicKey('cosign.pub', pemOfPublicKey(keys.publicKey), 'bench')];

  const legacyKeyless = legacySignature(leaf, 'registry.test/app', DIGEST, { rekor: fixture.rekor });
  const bundleKeyless = Buffer.from(JSON.stringify(dsseBundle(leaf, DIGEST, { rekor: fixture.rekor })));
  const legacyKeyed = legacySignature(keys, 'registry.test/app', DIGEST);
  const bundleKeyed = Buffer.from(JSON.stringify(dsseBundle(keys, DIGEST, { rekor: fixture.rekor })));

  const realDir = join(DATA, 'legacy-real/salrashid123-server_image');
  const real = {
    payload: readFileSync(join(realDir, 'payload.json')),
    annotations: JSON.parse(readFileSync(join(realDir, 'sig-manifest.json'), 'utf8')).layers[0].annotations as Record<
      string,
      string
    >,
  };
  const realDigest = 'sha256:c05263d2ff654c3a94243662440913f045075d59c436e2c69e9145ec2b87a321';
  const publicGood: SignerPolicy = { mode: 'keyless', trustRoot: publicGoodTrustRoot(), identity: anyIdentity };
  const attestation = readFileSync(join(DATA, 'cosign-testdata/oci-attestation.sigstore.json'));
  const attestationDigest = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';

  const repo = new MemoryRepository('registry.test/app');
  const artifact = await pushArtifact(repo);
  await attachLegacy(repo, artifact, [legacySignature(leaf, repo.name, artifact.digest, { rekor: fixture.rekor })]);
  const verifyBlock = { provider: 'cosign', matchOIDCIdentity: [{ issuer: '^https://', subject: '' }] };
  const repoOptions = () => ({ call: { signal: AbortSignal.timeout(10_000) }, trustRoots: fixedTrustRootSource(root) });

  const rawSignature = sign('sha256', legacyKeyed.payload, keys.privateKey);
  const baselineMs = median(
    await timeRuns(() => verify('sha256', legacyKeyed.payload, keys.publicKey, rawSignature), RUNS * 4, 50),
  );

  const rows = [
    await measure(
      'legacy keyless (self-made CA + Rekor, no SCT)',
      () => verifyLegacySignature(legacyKeyless, DIGEST, keyless),
      baselineMs,
    ),
    await measure(
      'legacy keyless (real public-good, SCT)',
      () => verifyLegacySignature(real, realDigest, publicGood),
      baselineMs,
    ),
    await measure(
      'bundle keyless v0.3 DSSE (self-made, SET + proof)',
      () => verifyBundleBytes(bundleKeyless, { digest: DIGEST }, keyless),
      baselineMs,
    ),
    await measure(
      'bundle keyless v0.3 DSSE (cosign public-good)',
      () => verifyBundleBytes(attestation, { digest: attestationDigest }, publicGood),
      baselineMs,
    ),
    await measure(
      'key-based legacy (node:crypto)',
      () => verifyLegacySignature(legacyKeyed, DIGEST, { mode: 'key', keys: keyMaterial, requireTlog: false }),
      baselineMs,
    ),
    await measure(
      'key-based bundle (sigstore-js, tlog stripped)',
      () => verifyBundleBytes(bundleKeyed, { digest: DIGEST }, { mode: 'key', keys: keyMaterial, requireTlog: false }),
      baselineMs,
    ),
    await measure(
      'key-based bundle (tlog required)',
      () =>
        verifyBundleBytes(
          bundleKeyed,
          { digest: DIGEST },
          { mode: 'key', keys: keyMaterial, requireTlog: true, trustRoot: root },
        ),
      baselineMs,
    ),
    await measure(
      'full path: discover + fetch + verify (MemoryRepository, legacy keyless)',
      () => verifyArtifactSignature(repo, artifact, verifyBlock, repoOptions()),
      baselineMs,
    ),
  ];
  return { baselineMs: round(baselineMs, 4), rows };
}

if (import.meta.main) {
  const result = await benchSignatureVerify();
  console.log(
    `baseline: one ECDSA P-256 crypto.verify = ${result.baselineMs} ms (median of ${RUNS * 4}); ${RUNS} runs per row`,
  );
  console.table(result.rows);
  console.log(JSON.stringify({ bench: 'signature-verify', runs: RUNS, ...result }));
}
