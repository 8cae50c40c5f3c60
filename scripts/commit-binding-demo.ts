// Produces the commit-binding output quoted in README.md: starts Debian's docker-registry on loopback, pushes a
// Flux-shaped artifact whose revision annotation names commit 1111… but whose keyless signature (test Fulcio,
// GitHub-shaped certificate) was made by a workflow run on commit 2222…, then runs `pinwarden verify` (warn and
// enforce) and `/validate` with commitBinding: enforce. Run: node scripts/commit-binding-demo.ts
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runCli } from '../src/cli/program.ts';
import { sha256Name } from '../src/core/trust/index.ts';
import { clusterAccess, createAdmissionVerifier, createPinFailureLog, createPinResolver } from '../src/flows/index.ts';
import { createMemorySecretReader } from '../src/kube/index.ts';
import { HttpRepository, parseReference } from '../src/oci/index.ts';
import { admissionFlows } from '../src/webhook/index.ts';
import { admissionReview, ociRepository } from '../test/helpers/admission.ts';
import {
  COMMIT,
  OTHER_COMMIT,
  fluxAnnotations,
  pushAnnotatedArtifact,
  signKeyless,
} from '../test/helpers/binding-fixtures.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { createSigstoreFixture, githubClaims } from '../test/helpers/sigstore-fixtures.ts';
import { startHarness } from '../test/integration/webhook/harness.ts';

const registry = await startRegistry({ mode: 'plain' });
try {
  const fixture = await createSigstoreFixture();
  const dir = mkdtempSync(join(tmpdir(), 'pinwarden-demo-'));
  writeFileSync(join(dir, 'trusted_root.json'), fixture.trustedRootBytes);
  const repo = new HttpRepository(parseReference(`oci://${registry.host}/acme/app`), { insecure: true });
  const artifact = await pushAnnotatedArtifact(repo, fluxAnnotations(`main@sha1:${OTHER_COMMIT}`), 'v1');
  await signKeyless(fixture, repo, artifact, {
    claims: githubClaims({ repository: 'acme/app', sha: COMMIT, ref: 'refs/heads/main' }),
    subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
  });
  repo.close();
  const ref = `oci://${registry.host}/acme/app@${artifact.digest}`;
  for (const mode of ['warn', 'enforce']) {
    const args = [
      'verify',
      ref,
      '--issuer',
      '^https://token\\.actions\\.githubusercontent\\.com$',
      '--subject',
      '^https://github\\.com/acme/app/',
      '--trusted-root',
      'trusted_root.json',
      '--commit-binding',
      mode,
      '--insecure',
    ];
    console.log(`$ pinwarden ${args.map((a) => (/[\\^$ ]/.test(a) ? `'${a}'` : a)).join(' ')}`);
    const code = await runCli(args, {
      stdout: (t) => void process.stdout.write(t),
      stderr: (t) => void process.stdout.write(t),
      stdin: Readable.from([]),
      isTty: false,
      env: {},
      cwd: dir,
    });
    console.log(`(exit ${code})\n`);
  }
  const secrets = createMemorySecretReader({
    secrets: { 'apps/fulcio-root': { data: { 'trusted_root.json': fixture.trustedRootBytes.toString() } } },
  });
  const pins = createPinResolver({ access: clusterAccess(secrets) });
  const policy = `ociRepository: {allowInsecure: true, verifyAtAdmission: true, commitBinding: enforce, trustedRoots: ["${sha256Name(fixture.trustedRootBytes)}"], allowedIdentities: [{issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/'}]}\nregistry: {timeoutSeconds: 5, allowNetworks: ["127.0.0.0/8", "::1/128"]}`;
  const harness = startHarness({
    policy,
    flows: admissionFlows({
      pins,
      failures: createPinFailureLog(),
      now: () => new Date(),
      verifier: createAdmissionVerifier({ pins, secrets }),
      secrets,
    }),
  });
  const object = ociRepository({
    url: `oci://${registry.host}/acme/app`,
    insecure: true,
    ref: { tag: 'v1', digest: artifact.digest },
    verify: {
      provider: 'cosign',
      matchOIDCIdentity: [
        { issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/app/' },
      ],
      trustedRootSecretRef: { name: 'fulcio-root' },
    },
  });
  const { response } = await harness.review('/validate', admissionReview(object));
  console.log(
    `/validate allowed=${String(response.allowed)} code=${String(response.status?.code)}\n${String(response.status?.message)}`,
  );
  pins.close();
} finally {
  await registry.stop();
}
