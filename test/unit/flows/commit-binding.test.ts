// verifyAtAdmission with commit binding and claim patterns, end to end on a MemoryRepository: artifacts pushed
// with matching and mismatching source/revision annotations, signed (legacy .sig and v0.3 bundle) by a
// Fulcio-like CA issuing GitHub- and GitLab-shaped certificates of both OID generations. Every case asserts the
// verdict and the message.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '../../../src/core/findings.ts';
import {
  createAdmissionVerifier,
  createPinFailureLog,
  validateObject,
  verifyWithChecks,
} from '../../../src/flows/index.ts';
import type { PinResolver, SignatureVerifier, ValidateResult } from '../../../src/flows/index.ts';
import { PinwardenError } from '../../../src/core/errors.ts';
import { MemoryRepository } from '../../../src/oci/index.ts';
import type { Descriptor } from '../../../src/oci/index.ts';
import { fixedTrustRootSource, parseTrustedRoot, verifyArtifactSignature } from '../../../src/signature/index.ts';
import { truncateWarning, warningLine } from '../../../src/webhook/warnings.ts';
import { ociRepository } from '../../helpers/admission.ts';
import {
  COMMIT,
  COMMIT_SHA256,
  OTHER_COMMIT,
  fluxAnnotations,
  pushAnnotatedArtifact,
  signKeyless,
} from '../../helpers/binding-fixtures.ts';
import type { SignWith } from '../../helpers/binding-fixtures.ts';
import { policyFrom } from '../../helpers/rule-tester.ts';
import type { SigstoreFixture } from '../../helpers/sigstore-fixtures.ts';
import { createSigstoreFixture, githubClaims, gitlabClaims } from '../../helpers/sigstore-fixtures.ts';
import { attachBundle, dsseBundle } from '../../helpers/sigstore-fixtures-sign.ts';
import { PLATFORM_KEY, TRUSTS_PLATFORM_KEY, platformKeySecrets } from '../../helpers/trust.ts';

const repository = new MemoryRepository('registry.example/acme/app');
let fixture: SigstoreFixture;
let verifyFn: SignatureVerifier;
before(async () => {
  fixture = await createSigstoreFixture();
  const root = fixedTrustRootSource(parseTrustedRoot(fixture.trustedRootBytes, 'test root'));
  // The admission verifier's own options (judge, vetted keys) pass through; only the trust root is the test CA's.
  verifyFn = (repo, subject, block, options) =>
    verifyArtifactSignature(repo, subject, block, { ...options, trustRoots: root });
});

const pins: PinResolver = {
  resolve: async () => ({ ok: false, error: new PinwardenError('PW_INTERNAL', 'pinned already') }),
  repository: async () => repository,
  close: () => undefined,
};
const GITHUB_ISSUER_RE = '^https://token\\.actions\\.githubusercontent\\.com$';
const IDENTITY = { issuer: GITHUB_ISSUER_RE, subject: '^https://github\\.com/acme/app/' };
const MAIN = githubClaims({ repository: 'acme/app', sha: COMMIT, ref: 'refs/heads/main' });
const policyText = (binding: string, extra = '') =>
  `mode: enforce\nociRepository:\n  verifyAtAdmission: true\n  commitBinding: ${binding}\n  allowedIdentities: [{issuer: '${GITHUB_ISSUER_RE}', subject: '.*'}]\n  ${TRUSTS_PLATFORM_KEY}\n${extra}`;

function objectFor(
  artifact: Descriptor,
  verify: Record<string, unknown> = { provider: 'cosign', matchOIDCIdentity: [IDENTITY] },
  annotations?: Record<string, string>,
) {
  return ociRepository(
    { url: 'oci://registry.example/acme/app', ref: { tag: 'v1', digest: artifact.digest }, verify },
    annotations ? { annotations } : {},
  );
}

async function admit(object: unknown, binding: string, extra = ''): Promise<ValidateResult> {
  const secrets = platformKeySecrets();
  const verifier = createAdmissionVerifier({ pins, secrets, verifyFn });
  return validateObject({ object }, policyFrom(policyText(binding, extra)), {
    pins,
    failures: createPinFailureLog(),
    now: () => new Date(),
    verifier,
    secrets,
  });
}

async function signed(annotations: Record<string, string>, sign: SignWith = { claims: MAIN }): Promise<Descriptor> {
  const artifact = await pushAnnotatedArtifact(repository, annotations);
  await signKeyless(fixture, repository, artifact, sign);
  return artifact;
}

const withoutSource = ({ 'org.opencontainers.image.source': _, ...rest }: Record<string, string>) => rest;
const only = (result: ValidateResult): Finding => {
  assert.equal(result.evaluation.findings.length, 1, JSON.stringify(result.evaluation.findings));
  return result.evaluation.findings[0]!;
};

test('bound (legacy and bundle, https and ssh source): admitted without findings in every mode', async () => {
  for (const [format, source] of [
    ['legacy', 'https://github.com/acme/app'],
    ['bundle', 'git@github.com:acme/app.git'],
    ['legacy', 'ssh://git@github.com/Acme/App.git'],
  ] as const) {
    const artifact = await signed(fluxAnnotations(`main@sha1:${COMMIT}`, source), { claims: MAIN, format });
    for (const mode of ['warn', 'enforce']) {
      const result = await admit(objectFor(artifact), mode);
      assert.equal(
        result.evaluation.verdict,
        'allow',
        `${format} ${source} ${mode}: ${JSON.stringify(result.evaluation.findings)}`,
      );
      assert.ok(
        result.verification?.ok && result.verification.binding?.decision.check?.bound,
        'the binding is reported',
      );
    }
  }
});

test('other commit: warn admits with a commit-binding warning naming both commits; enforce denies with the full message', async () => {
  const artifact = await signed(fluxAnnotations(`main@sha1:${OTHER_COMMIT}`));
  const warned = await admit(objectFor(artifact), 'warn');
  assert.equal(warned.evaluation.verdict, 'warn');
  assert.deepEqual(only(warned), {
    ruleId: 'commit-binding',
    severity: 'warning',
    path: 'spec.ref.digest',
    message: 'revision "main@sha1:111111111111…" but signer built 222222222222…',
    fix: 'push the artifact from the commit the signing workflow ran on (flux push artifact --source --revision), or sign it from that commit',
  });
  // As the webhook sends it: at most 120 characters, both commits still readable.
  const line = truncateWarning(warningLine(only(warned)));
  assert.equal(
    line,
    'revision "main@sha1:111111111111…" but signer built 222222222222… [commit-binding spec.ref.digest]',
  );
  const denied = await admit(objectFor(artifact), 'enforce');
  assert.equal(denied.evaluation.verdict, 'deny');
  const finding = only(denied);
  assert.equal(finding.ruleId, 'commit-binding');
  assert.match(
    finding.message,
    new RegExp(
      `^the signature verifies, but is not bound to the commit the artifact names: legacy sha256-[0-9a-f]{64}\\.sig layer 0: revision annotation "main@sha1:${OTHER_COMMIT}" but the signing workflow built ${COMMIT} \\(certificate SourceRepositoryDigest\\) \\[PW_COMMIT_BINDING\\]$`,
    ),
  );
  assert.ok(!denied.verification?.ok && denied.verification?.error.code === 'PW_COMMIT_BINDING');
});

test('other repository, and a fork with the same name under another owner: denied naming both repositories', async () => {
  const other = await signed(fluxAnnotations(`main@sha1:${COMMIT}`, 'https://github.com/acme/other'));
  assert.match(
    only(await admit(objectFor(other), 'enforce')).message,
    /source annotation "https:\/\/github\.com\/acme\/other" but the signing workflow ran in https:\/\/github\.com\/acme\/app \(certificate SourceRepositoryURI\)/,
  );
  // The fork's workflow is allowed by a loose identity (any owner); its certificate says where it really ran.
  const fork = await signed(fluxAnnotations(`main@sha1:${COMMIT}`), {
    claims: githubClaims({ repository: 'evil/app', sha: COMMIT, ref: 'refs/heads/main' }),
    subject: 'https://github.com/evil/app/.github/workflows/release.yml@refs/heads/main',
  });
  const loose = {
    provider: 'cosign',
    matchOIDCIdentity: [{ issuer: GITHUB_ISSUER_RE, subject: '/app/\\.github/workflows/release\\.yml@' }],
  };
  const denied = await admit(objectFor(fork, loose), 'enforce');
  assert.equal(denied.evaluation.verdict, 'deny');
  assert.match(
    only(denied).message,
    /source annotation "https:\/\/github\.com\/acme\/app" but the signing workflow ran in https:\/\/github\.com\/evil\/app/,
  );
});

test('short sha, ref on another branch, missing annotations: each denied under enforce with its reason', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      fluxAnnotations('main@sha1:2222222'),
      /revision annotation "main@sha1:2222222" has a 7-character sha1 id, not a full 40-character commit id, but the signing workflow built 2{40}/,
    ],
    [
      fluxAnnotations(`release@sha1:${COMMIT}`),
      /revision annotation ref "release" but the signing workflow ran on refs\/heads\/main \(certificate SourceRepositoryRef\)/,
    ],
    [
      fluxAnnotations(undefined),
      /the artifact has no org\.opencontainers\.image\.revision annotation, but the signing workflow built 2{40}/,
    ],
    [
      withoutSource(fluxAnnotations(COMMIT)),
      /the artifact has no org\.opencontainers\.image\.source annotation, but the signing workflow ran in https:\/\/github\.com\/acme\/app/,
    ],
  ];
  for (const [annotations, message] of cases) {
    const result = await admit(objectFor(await signed(annotations)), 'enforce');
    assert.equal(result.evaluation.verdict, 'deny', String(message));
    assert.match(only(result).message, message);
  }
});

test('sha256 object format and a GitLab certificate (subgroup, case-insensitive owner): bound', async () => {
  const gitlab = { issuer: '^https://gitlab\\.com$', subject: '^https://gitlab\\.com/acme/platform/fleet//' };
  const artifact = await signed(
    fluxAnnotations(`main@sha256:${COMMIT_SHA256}`, 'https://gitlab.com/Acme/Platform/fleet.git'),
    {
      claims: gitlabClaims({ repository: 'acme/platform/fleet', sha: COMMIT_SHA256, ref: 'refs/heads/main' }),
      issuer: 'https://gitlab.com',
      subject: 'https://gitlab.com/acme/platform/fleet//.gitlab-ci.yml@refs/heads/main',
      format: 'bundle',
    },
  );
  const policyGitlab = policyFrom(
    `mode: enforce\nociRepository:\n  verifyAtAdmission: true\n  commitBinding: enforce\n  allowedIdentities: [{issuer: '^https://gitlab\\.com$', subject: '.*'}]\n`,
  );
  const verifier = createAdmissionVerifier({ pins, verifyFn });
  const admitted = await validateObject(
    { object: objectFor(artifact, { provider: 'cosign', matchOIDCIdentity: [gitlab] }) },
    policyGitlab,
    { pins, failures: createPinFailureLog(), now: () => new Date(), verifier },
  );
  assert.equal(admitted.evaluation.verdict, 'allow', JSON.stringify(admitted.evaluation.findings));
});

test('v1-only GitHub certificate: bound by GitHubWorkflowSHA, and its mismatch names the v1 extension', async () => {
  const v1 = githubClaims({ repository: 'acme/app', sha: COMMIT, ref: 'refs/heads/main', v1Only: true });
  assert.equal(
    (await admit(objectFor(await signed(fluxAnnotations(`main@sha1:${COMMIT}`), { claims: v1 })), 'enforce')).evaluation
      .verdict,
    'allow',
  );
  const denied = await admit(objectFor(await signed(fluxAnnotations(OTHER_COMMIT), { claims: v1 })), 'enforce');
  assert.match(
    only(denied).message,
    /but the signing workflow built 2{40} \(certificate GitHubWorkflowSHA, 1\.3\.6\.1\.4\.1\.57264\.1\.3\)/,
  );
});

test('two signatures, the first from another commit: enforce takes the bound one; warn prefers it too (no warning)', async () => {
  const artifact = await signed(fluxAnnotations(`main@sha1:${COMMIT}`), { claims: MAIN, format: 'legacy' });
  await signKeyless(fixture, repository, artifact, {
    claims: githubClaims({ repository: 'acme/app', sha: OTHER_COMMIT, ref: 'refs/heads/main' }),
    format: 'bundle',
  });
  for (const mode of ['enforce', 'warn']) {
    const result = await admit(objectFor(artifact), mode);
    assert.equal(result.evaluation.verdict, 'allow', `${mode}: ${JSON.stringify(result.evaluation.findings)}`);
    assert.equal(
      result.verification?.ok && result.verification.signature.kind,
      'legacy',
      'the bundle (tried first) was passed over',
    );
  }
});

test('key-based: warn says nothing; enforce refuses and says why', async () => {
  const artifact = await pushAnnotatedArtifact(repository, fluxAnnotations(`main@sha1:${COMMIT}`));
  await attachBundle(repository, artifact, dsseBundle(PLATFORM_KEY, artifact.digest));
  const keyed = { provider: 'cosign', secretRef: { name: 'cosign-pub' } };
  const warned = await admit(objectFor(artifact, keyed), 'warn');
  assert.equal(warned.evaluation.verdict, 'allow', JSON.stringify(warned.evaluation.findings));
  const denied = await admit(objectFor(artifact, keyed), 'enforce');
  assert.equal(denied.evaluation.verdict, 'deny');
  assert.match(
    only(denied).message,
    /: the signature is key-based: a public key carries no workflow claims, so nothing binds the artifact to a commit \(commitBinding is enforce\) \[PW_COMMIT_BINDING\]/,
  );
});

test('off: a mismatch is not even looked at', async () => {
  const artifact = await signed(fluxAnnotations(`main@sha1:${OTHER_COMMIT}`));
  const result = await admit(objectFor(artifact), 'off');
  assert.equal(result.evaluation.verdict, 'allow');
  assert.ok(result.verification?.ok && result.verification.binding === undefined);
});

test('the object annotation tightens warn to enforce, and cannot loosen enforce', async () => {
  const artifact = await signed(fluxAnnotations(`main@sha1:${OTHER_COMMIT}`));
  const tightened = await admit(objectFor(artifact, undefined, { 'pinwarden.dev/commit-binding': 'enforce' }), 'warn');
  assert.equal(tightened.evaluation.verdict, 'deny');
  assert.match(only(tightened).message, /\[PW_COMMIT_BINDING\]$/);
  const bound = await signed(fluxAnnotations(`main@sha1:${COMMIT}`));
  const loosen = await admit(objectFor(bound, undefined, { 'pinwarden.dev/commit-binding': 'off' }), 'enforce');
  assert.equal(loosen.evaluation.verdict, 'warn');
  assert.deepEqual(
    loosen.evaluation.findings.map((f) => [f.ruleId, f.message]),
    [['commit-binding-annotation', "annotation pinwarden.dev/commit-binding: off cannot loosen the policy's enforce"]],
  );
  const stillDenied = await admit(objectFor(artifact, undefined, { 'pinwarden.dev/commit-binding': 'off' }), 'enforce');
  assert.equal(stillDenied.evaluation.verdict, 'deny');
});

test('claim patterns in allowedIdentities: ref and runner enforced at admission, the failing claim named', async () => {
  const claimsPolicy = (claims: string) =>
    `mode: enforce\nociRepository:\n  verifyAtAdmission: true\n  commitBinding: off\n  allowedIdentities: [{issuer: '${GITHUB_ISSUER_RE}', subject: '.*', ${claims}}]\n`;
  const run = async (claims: string, sign: SignWith) => {
    const artifact = await signed(fluxAnnotations(`main@sha1:${COMMIT}`), sign);
    const verifier = createAdmissionVerifier({ pins, verifyFn });
    return validateObject({ object: objectFor(artifact) }, policyFrom(claimsPolicy(claims)), {
      pins,
      failures: createPinFailureLog(),
      now: () => new Date(),
      verifier,
    });
  };
  const main = await run("sourceRepositoryRef: '^refs/heads/main$', runnerEnvironment: '^github-hosted$'", {
    claims: MAIN,
  });
  assert.equal(main.evaluation.verdict, 'allow', JSON.stringify(main.evaluation.findings));
  const dev = await run("sourceRepositoryRef: '^refs/heads/main$'", {
    claims: githubClaims({ repository: 'acme/app', sha: COMMIT, ref: 'refs/heads/dev' }),
  });
  assert.equal(dev.evaluation.verdict, 'deny');
  assert.match(
    only(dev).message,
    /the signing certificate fits no allowed identity of the policy in full \(allowedIdentities\[0\]: sourceRepositoryRef refs\/heads\/dev does not match \^refs\/heads\/main\$\) \[PW_IDENTITY_MISMATCH\]/,
  );
  const selfHosted = await run("runnerEnvironment: '^github-hosted$'", {
    claims: githubClaims({ repository: 'acme/app', sha: COMMIT, ref: 'refs/heads/main', runner: 'self-hosted' }),
  });
  assert.match(only(selfHosted).message, /runnerEnvironment self-hosted does not match \^github-hosted\$/);
  const v1Only = await run("buildSignerURI: 'release\\.yml'", {
    claims: githubClaims({ repository: 'acme/app', sha: COMMIT, ref: 'refs/heads/main', v1Only: true }),
  });
  assert.match(only(v1Only).message, /the certificate has no buildSignerURI claim \(wanted release\\\.yml\)/);
});

test('the artifact manifest is read for keyless blocks only (a public key has no claims to bind)', async () => {
  const reads: string[] = [];
  const counting = new Proxy(repository, {
    get(target, property, receiver) {
      if (property === 'fetchManifest')
        return (reference: string, c: never) => (reads.push(reference), target.fetchManifest(reference, c));
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  const countingPins: PinResolver = { ...pins, repository: async () => counting };
  const keyedArtifact = await pushAnnotatedArtifact(repository, fluxAnnotations(`main@sha1:${COMMIT}`));
  await attachBundle(repository, keyedArtifact, dsseBundle(PLATFORM_KEY, keyedArtifact.digest));
  const keylessArtifact = await signed(fluxAnnotations(`main@sha1:${COMMIT}`));
  const secrets = platformKeySecrets();
  for (const [artifact, verify] of [
    [keyedArtifact, { provider: 'cosign', secretRef: { name: 'cosign-pub' } }],
    [keylessArtifact, undefined],
  ] as const) {
    const verifier = createAdmissionVerifier({ pins: countingPins, secrets, verifyFn });
    const result = await validateObject({ object: objectFor(artifact, verify) }, policyFrom(policyText('warn')), {
      pins: countingPins,
      failures: createPinFailureLog(),
      now: () => new Date(),
      verifier,
      secrets,
    });
    assert.equal(result.evaluation.verdict, 'allow', JSON.stringify(result.evaluation.findings));
  }
  assert.deepEqual(
    reads.filter((reference) => reference === keyedArtifact.digest),
    [],
  );
  assert.deepEqual(
    reads.filter((reference) => reference === keylessArtifact.digest),
    [keylessArtifact.digest],
  );
});

test('verifyWithChecks (the controller seam): given annotations are used as they are, the manifest is not read again', async () => {
  const artifact = await signed(fluxAnnotations(`main@sha1:${COMMIT}`));
  const reads: string[] = [];
  const counting = new Proxy(repository, {
    get(target, property, receiver) {
      if (property === 'fetchManifest')
        return (reference: string, c: never) => (reads.push(reference), target.fetchManifest(reference, c));
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  const block = { provider: 'cosign', matchOIDCIdentity: [IDENTITY] };
  const options = { call: { signal: AbortSignal.timeout(10_000) } };
  // The fetched manifest said another commit: the caller's annotations are what is judged.
  const given = await verifyWithChecks(verifyFn, counting, artifact, block, options, {
    bindingMode: 'warn',
    annotations: fluxAnnotations(`main@sha1:${OTHER_COMMIT}`),
  });
  assert.equal(given.binding?.action, 'warn');
  assert.deepEqual(
    reads.filter((reference) => reference === artifact.digest),
    [],
  );
  const read = await verifyWithChecks(verifyFn, counting, artifact, block, options, { bindingMode: 'enforce' });
  assert.ok(read.binding?.check?.bound);
  assert.deepEqual(
    reads.filter((reference) => reference === artifact.digest),
    [artifact.digest],
  );
  const off = await verifyWithChecks(verifyFn, counting, artifact, block, options, { bindingMode: 'off' });
  assert.equal(off.binding, undefined);
});
