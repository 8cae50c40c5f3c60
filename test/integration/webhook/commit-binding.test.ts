// Commit binding through /validate, end to end: a real registry, Flux-shaped artifacts with source/revision
// annotations, keyless signatures from the test Fulcio (its trusted_root.json in the object's
// trustedRootSecretRef, trusted by the policy), verifyAtAdmission on. warn admits with a 120-character warning
// naming both commits; enforce (policy, or the object's annotation) denies with the full reason.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Name } from '../../../src/core/trust/index.ts';
import { createMemorySecretReader } from '../../../src/kube/index.ts';
import {
  clusterAccess,
  createAdmissionVerifier,
  createPinFailureLog,
  createPinResolver,
} from '../../../src/flows/index.ts';
import type { PinResolver } from '../../../src/flows/index.ts';
import { HttpRepository, parseReference } from '../../../src/oci/index.ts';
import type { Descriptor } from '../../../src/oci/index.ts';
import { admissionFlows } from '../../../src/webhook/index.ts';
import { admissionReview, ociRepository } from '../../helpers/admission.ts';
import {
  COMMIT,
  OTHER_COMMIT,
  fluxAnnotations,
  pushAnnotatedArtifact,
  signKeyless,
} from '../../helpers/binding-fixtures.ts';
import { startRegistry } from '../../helpers/registry.ts';
import type { TestRegistry } from '../../helpers/registry.ts';
import type { SigstoreFixture } from '../../helpers/sigstore-fixtures.ts';
import { createSigstoreFixture, githubClaims } from '../../helpers/sigstore-fixtures.ts';
import { startHarness } from './harness.ts';

const ISSUER = '^https://token\\.actions\\.githubusercontent\\.com$';
const IDENTITY = { issuer: ISSUER, subject: '^https://github\\.com/acme/app/' };
let registry: TestRegistry;
let fixture: SigstoreFixture;
let bound: Descriptor;
let otherCommit: Descriptor;
const resolvers: PinResolver[] = [];

before(async () => {
  registry = await startRegistry({ mode: 'plain' });
  fixture = await createSigstoreFixture();
  const repo = new HttpRepository(parseReference(`oci://${registry.host}/acme/app`), { insecure: true });
  try {
    const claims = githubClaims({ repository: 'acme/app', sha: COMMIT, ref: 'refs/heads/main' });
    bound = await pushAnnotatedArtifact(repo, fluxAnnotations(`main@sha1:${COMMIT}`), 'bound');
    await signKeyless(fixture, repo, bound, { claims, format: 'bundle' });
    otherCommit = await pushAnnotatedArtifact(repo, fluxAnnotations(`main@sha1:${OTHER_COMMIT}`), 'other');
    await signKeyless(fixture, repo, otherCommit, { claims });
  } finally {
    repo.close();
  }
});

after(async () => {
  for (const resolver of resolvers) resolver.close();
  await registry?.stop();
});

function harness(binding: string) {
  const policy = `ociRepository: {allowInsecure: true, verifyAtAdmission: true, commitBinding: ${binding}, trustedRoots: ["${sha256Name(fixture.trustedRootBytes)}"], allowedIdentities: [{issuer: '${ISSUER}', subject: '^https://github\\.com/acme/'}]}\nregistry: {timeoutSeconds: 5, allowNetworks: ["127.0.0.0/8", "::1/128"]}`;
  const secrets = createMemorySecretReader({
    secrets: { 'apps/fulcio-root': { data: { 'trusted_root.json': fixture.trustedRootBytes.toString() } } },
  });
  const pins = createPinResolver({ access: clusterAccess(secrets) });
  resolvers.push(pins);
  const verifier = createAdmissionVerifier({ pins, secrets });
  return startHarness({
    policy,
    flows: admissionFlows({ pins, failures: createPinFailureLog(), now: () => new Date(), verifier, secrets }),
  });
}

const objectFor = (artifact: Descriptor, annotations: Record<string, string> = {}) =>
  ociRepository(
    {
      url: `oci://${registry.host}/acme/app`,
      insecure: true,
      ref: { tag: 'v1', digest: artifact.digest },
      verify: { provider: 'cosign', matchOIDCIdentity: [IDENTITY], trustedRootSecretRef: { name: 'fulcio-root' } },
    },
    { annotations },
  );

test('bound: admitted without warnings under enforce', async () => {
  const { response } = await harness('enforce').review('/validate', admissionReview(objectFor(bound)));
  assert.equal(response.allowed, true, JSON.stringify(response));
  assert.equal(response.warnings, undefined);
});

test('other commit under warn: admitted, one warning of at most 120 characters naming both commits', async () => {
  const { response } = await harness('warn').review('/validate', admissionReview(objectFor(otherCommit)));
  assert.equal(response.allowed, true, JSON.stringify(response));
  assert.deepEqual(response.warnings, [
    'revision "main@sha1:111111111111…" but signer built 222222222222… [commit-binding spec.ref.digest]',
  ]);
});

test('other commit under enforce, or tightened by the object annotation: denied with both sides and PW_COMMIT_BINDING', async () => {
  for (const [binding, annotations] of [
    ['enforce', {}],
    ['warn', { 'pinwarden.dev/commit-binding': 'enforce' }],
  ] as const) {
    const { response } = await harness(binding).review(
      '/validate',
      admissionReview(objectFor(otherCommit, annotations)),
    );
    assert.equal(response.allowed, false, binding);
    assert.match(
      response.status.message,
      new RegExp(
        `\\[commit-binding\\] spec\\.ref\\.digest: the signature verifies, but is not bound to the commit the artifact names: legacy sha256-[0-9a-f]{64}\\.sig layer 0: revision annotation "main@sha1:${OTHER_COMMIT}" but the signing workflow built ${COMMIT} \\(certificate SourceRepositoryDigest\\) \\[PW_COMMIT_BINDING\\]; fix: `,
      ),
    );
  }
});
