/**
 * What `verifyAtAdmission` adds to /validate once its cache is warm (issue target: ≤ 10 % latency), plus the
 * cold (first) verification for scale. The same pinned, key-signed object goes through two webhooks built
 * the same way, one with verifyAtAdmission off and one on; requests alternate between them (inject(), so the
 * network does not hide the difference), medians of many runs.
 * Run: npm run bench -- verify-at-admission   (or: node bench/verify-at-admission.ts)
 */
import { createAdmissionVerifier, clusterAccess, createPinFailureLog, createPinResolver } from '../src/flows/index.ts';
import { createMemorySecretReader } from '../src/kube/index.ts';
import { HttpRepository, parseReference } from '../src/oci/index.ts';
import { admissionFlows } from '../src/webhook/index.ts';
import { admissionReview, ociRepository } from '../test/helpers/admission.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { attachLegacy, legacySignature, pushArtifact } from '../test/helpers/sigstore-fixtures-sign.ts';
import { pemOfPublicKey } from '../test/helpers/sigstore-fixtures.ts';
import { PLATFORM_KEY, TRUSTS_PLATFORM_KEY } from '../test/helpers/trust.ts';
import { startHarness } from '../test/integration/webhook/harness.ts';
import { median, percentile, round } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 4000);

export async function benchVerifyAtAdmission(): Promise<Record<string, number>> {
  const registry = await startRegistry({ mode: 'plain' });
  const signer = PLATFORM_KEY;
  const repo = new HttpRepository(parseReference(`oci://${registry.host}/acme/app`), { insecure: true });
  const resolvers: Array<{ close(): void }> = [];
  try {
    const signed = await pushArtifact(repo, 'v1', 'signed content');
    await attachLegacy(repo, signed, [legacySignature(signer, repo.name, signed.digest)]);
    const secrets = createMemorySecretReader({
      secrets: { 'apps/cosign-pub': { data: { 'cosign.pub': pemOfPublicKey(signer.publicKey) } } },
    });
    const webhook = (verifyAtAdmission: boolean) => {
      const pins = createPinResolver({ access: clusterAccess(secrets) });
      resolvers.push(pins);
      const verifier = createAdmissionVerifier({ pins, secrets });
      const policy = `ociRepository: {${TRUSTS_PLATFORM_KEY}, allowInsecure: true, verifyAtAdmission: ${verifyAtAdmission}}\nregistry: {timeoutSeconds: 5, cacheTTLSeconds: 600, allowNetworks: ["127.0.0.0/8", "::1/128"]}`;
      return startHarness({
        policy,
        flows: admissionFlows({ pins, failures: createPinFailureLog(), now: () => new Date(), verifier, secrets }),
      });
    };
    const body = admissionReview(
      ociRepository({
        url: `oci://${registry.host}/acme/app`,
        insecure: true,
        ref: { tag: 'v1', digest: signed.digest },
        verify: { provider: 'cosign', secretRef: { name: 'cosign-pub' } },
      }),
    );
    const off = webhook(false);
    const on = webhook(true);
    const cold = await on.review('/validate', body);
    if (cold.response.allowed !== true)
      throw new Error(`the signed object was not admitted: ${JSON.stringify(cold.response)}`);
    const offMs: number[] = [];
    const onMs: number[] = [];
    for (let i = 0; i < 200; i += 1) await Promise.all([off.review('/validate', body), on.review('/validate', body)]);
    for (let i = 0; i < RUNS; i += 1) {
      offMs.push((await off.review('/validate', body)).ms);
      onMs.push((await on.review('/validate', body)).ms);
    }
    const sortedOff = [...offMs].sort((a, b) => a - b);
    const sortedOn = [...onMs].sort((a, b) => a - b);
    return {
      runs: RUNS,
      validateMedianMs: round(median(offMs), 4),
      validateP90Ms: round(percentile(sortedOff, 90), 4),
      warmVerifyMedianMs: round(median(onMs), 4),
      warmVerifyP90Ms: round(percentile(sortedOn, 90), 4),
      warmOverhead: round(median(onMs) / median(offMs) - 1, 3),
      coldVerifyMs: round(cold.ms, 2),
    };
  } finally {
    for (const resolver of resolvers) resolver.close();
    repo.close();
    await registry.stop();
  }
}

if (import.meta.main) {
  const result = await benchVerifyAtAdmission();
  console.table([result]);
  console.log(JSON.stringify({ bench: 'verify-at-admission', ...result }));
}
