import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { publicKeyFingerprint } from '../../../src/core/trust/index.ts';
import { PinwardenError } from '../../../src/core/errors.ts';
import type { ErrorCode } from '../../../src/core/errors.ts';
import {
  SIGNATURE_RULE_ID,
  createAdmissionVerifier,
  createPinFailureLog,
  readVerifyTrust,
  validateObject,
} from '../../../src/flows/index.ts';
import { readOciRepository } from '../../../src/core/flux/index.ts';
import type { PinResolver, SignatureVerifier } from '../../../src/flows/index.ts';
import { MemoryRepository, callWithTimeout } from '../../../src/oci/index.ts';
import type { VerifiedSignature } from '../../../src/signature/index.ts';
import { ociRepository } from '../../helpers/admission.ts';
import { policyFrom } from '../../helpers/rule-tester.ts';
import { PLATFORM_KEY_PEM, TRUSTS_PLATFORM_KEY, platformKeySecrets } from '../../helpers/trust.ts';

const repository = new MemoryRepository('registry.example/acme/app');
const manifest = new TextEncoder().encode(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.empty.v1+json',
      digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
      size: 2,
    },
    layers: [],
  }),
);
const subject = await repository.pushManifest(
  manifest,
  'application/vnd.oci.image.manifest.v1+json',
  'v1',
  callWithTimeout(1000),
);

const pins: PinResolver = {
  resolve: async () => ({ ok: false, error: new PinwardenError('PW_INTERNAL', 'not used') }),
  repository: async () => repository,
  close: () => undefined,
};

const SIGNED: VerifiedSignature = {
  kind: 'legacy',
  mode: 'key',
  digest: subject.digest,
  subjects: [],
  source: subject.digest,
  keyName: 'cosign.pub',
};

function counting(answer: () => VerifiedSignature | PinwardenError): SignatureVerifier & { calls: number } {
  const fn = Object.assign(
    async (): Promise<VerifiedSignature> => {
      fn.calls++;
      const result = answer();
      if (result instanceof PinwardenError) throw result;
      return result;
    },
    { calls: 0 },
  );
  return fn;
}

const object = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) =>
  ociRepository(
    { url: 'oci://registry.example/acme/app', ref: { tag: 'v1', digest: subject.digest }, ...spec },
    metadata,
  );
const fail = (code: ErrorCode) => new PinwardenError(code, `${code} happened`);
const call = () => callWithTimeout(1000);
const secrets = platformKeySecrets({
  'apps/other-key': { data: { 'cosign.pub': PLATFORM_KEY_PEM } },
  'other/cosign-pub': { data: { 'cosign.pub': PLATFORM_KEY_PEM } },
});
const KEYS = `ociRepository: {${TRUSTS_PLATFORM_KEY}}`;

test('a success is cached for the positive TTL; policy generation, namespace and verify block are part of the key', async () => {
  let now = 0;
  const verifyFn = counting(() => SIGNED);
  const verifier = createAdmissionVerifier({ pins, secrets, verifyFn, now: () => now, positiveTtlMs: 1000 });
  const policy = policyFrom(KEYS);
  assert.equal((await verifier.verify(object(), policy, call()))?.cached, false);
  assert.equal((await verifier.verify(object(), policy, call()))?.cached, true);
  assert.equal(verifyFn.calls, 1);
  await verifier.verify(object({}, { namespace: 'other' }), policy, call());
  await verifier.verify(object({ verify: { provider: 'cosign', secretRef: { name: 'other-key' } } }), policy, call());
  await verifier.verify(object(), { ...policy, metadata: { ...policy.metadata, generation: 2 } }, call());
  assert.equal(verifyFn.calls, 4);
  now = 1000;
  await verifier.verify(object(), policy, call());
  assert.equal(verifyFn.calls, 5, 'expired');
});

test('definitive failures are cached briefly; transient ones never', async () => {
  let now = 0;
  let answer: PinwardenError = fail('PW_SIGNATURE_NOT_FOUND');
  const verifyFn = counting(() => answer);
  const verifier = createAdmissionVerifier({ pins, secrets, verifyFn, now: () => now, negativeTtlMs: 100 });
  const policy = policyFrom(KEYS);
  assert.equal((await verifier.verify(object(), policy, call()))?.ok, false);
  const again = await verifier.verify(object(), policy, call());
  assert.equal(again?.cached, true);
  assert.equal(verifyFn.calls, 1);
  now = 100;
  answer = fail('PW_REGISTRY_UNREACHABLE');
  await verifier.verify(object(), policy, call());
  await verifier.verify(object(), policy, call());
  assert.equal(verifyFn.calls, 3, 'transient errors are asked again every time');
});

test('identical concurrent checks share one verification', async () => {
  const verifyFn = counting(() => SIGNED);
  const verifier = createAdmissionVerifier({ pins, secrets, verifyFn });
  const results = await Promise.all(
    Array.from({ length: 20 }, () => verifier.verify(object(), policyFrom(KEYS), call())),
  );
  assert.ok(results.every((result) => result?.ok));
  assert.equal(verifyFn.calls, 1);
});

test('nothing to verify without a digest or a verify block', async () => {
  const verifier = createAdmissionVerifier({ pins, secrets, verifyFn: counting(() => SIGNED) });
  assert.equal(await verifier.verify(object({ ref: { tag: 'v1' } }), policyFrom(KEYS), call()), undefined);
  assert.equal(await verifier.verify(object({ verify: undefined }), policyFrom(KEYS), call()), undefined);
});

function deps(verifyFn: SignatureVerifier) {
  return {
    pins,
    failures: createPinFailureLog(),
    now: () => new Date(),
    verifier: createAdmissionVerifier({ pins, secrets, verifyFn }),
    secrets,
  };
}
const VERIFYING = `ociRepository: {${TRUSTS_PLATFORM_KEY}, verifyAtAdmission: true}`;

test('validate: a failed signature denies with signature-required and the code; a good one admits', async () => {
  const denied = await validateObject(
    { object: object() },
    policyFrom(VERIFYING),
    deps(counting(() => fail('PW_SIGNATURE_INVALID'))),
  );
  assert.equal(denied.evaluation.verdict, 'deny');
  assert.deepEqual(
    denied.evaluation.findings.map((finding) => finding.ruleId),
    [SIGNATURE_RULE_ID],
  );
  assert.match(denied.evaluation.findings[0]?.message ?? '', /\[PW_SIGNATURE_INVALID\]/);
  const admitted = await validateObject({ object: object() }, policyFrom(VERIFYING), deps(counting(() => SIGNED)));
  assert.equal(admitted.evaluation.verdict, 'allow');
  assert.equal(admitted.verification?.ok, true);
});

test('validate: a cached verification never skips the rules', async () => {
  const d = deps(counting(() => SIGNED));
  const policy = policyFrom(`${VERIFYING.slice(0, -1)}, allowedRegistries: ['oci://ghcr.io/']}`);
  await d.verifier.verify(object(), policy, call());
  const result = await validateObject({ object: object() }, policy, d);
  assert.equal(result.evaluation.verdict, 'deny');
  assert.deepEqual(
    result.evaluation.findings.map((finding) => finding.ruleId),
    ['registry-not-allowed'],
  );
});

test('validate: verification is off unless verifyAtAdmission; warn mode and onUnreachable: warn only warn', async () => {
  const verifyFn = counting(() => fail('PW_SIGNATURE_NOT_FOUND'));
  assert.equal(
    (await validateObject({ object: object() }, policyFrom(`ociRepository: {${TRUSTS_PLATFORM_KEY}}`), deps(verifyFn)))
      .evaluation.verdict,
    'allow',
  );
  assert.equal(verifyFn.calls, 0);
  const warnMode = await validateObject({ object: object() }, policyFrom(`mode: warn\n${VERIFYING}`), deps(verifyFn));
  assert.equal(warnMode.evaluation.verdict, 'warn');
  const unreachable = await validateObject(
    { object: object() },
    policyFrom(`${VERIFYING}\nregistry: {onUnreachable: warn}`),
    deps(counting(() => fail('PW_DEADLINE'))),
  );
  assert.equal(unreachable.evaluation.verdict, 'warn');
  const stillDenied = await validateObject(
    { object: object() },
    policyFrom(`${VERIFYING}\nregistry: {onUnreachable: warn}`),
    deps(counting(() => fail('PW_SIGNATURE_NOT_FOUND'))),
  );
  assert.equal(stillDenied.evaluation.verdict, 'deny');
});

test('validate: an unsupported provider (notation) follows onUnsupportedProvider; requireTlogForKeys reaches the verifier', async () => {
  const unsupported = counting(() => fail('PW_VERIFY_UNSUPPORTED'));
  const notation = object({ verify: { provider: 'notation' } });
  const policy = `ociRepository: {${TRUSTS_PLATFORM_KEY}, verifyAtAdmission: true, allowedVerifyProviders: [cosign, notation]`;
  assert.equal(
    (await validateObject({ object: notation }, policyFrom(`${policy}}`), deps(unsupported))).evaluation.verdict,
    'deny',
  );
  assert.equal(
    (
      await validateObject(
        { object: notation },
        policyFrom(`${policy}, onUnsupportedProvider: warn}`),
        deps(unsupported),
      )
    ).evaluation.verdict,
    'warn',
  );
  let seen: boolean | undefined;
  const spy: SignatureVerifier = async (_repository, _subject, _block, options) => {
    seen = options.requireTlog;
    return SIGNED;
  };
  await validateObject(
    { object: object() },
    policyFrom(`${VERIFYING.slice(0, -1)}, requireTlogForKeys: true}`),
    deps(spy),
  );
  assert.equal(seen, true);
});

test('cached() answers without I/O: a fresh outcome, "miss" before or after it, nothing for an unpinned object', async () => {
  let now = 0;
  const verifyFn = counting(() => SIGNED);
  const verifier = createAdmissionVerifier({ pins, secrets, verifyFn, now: () => now, positiveTtlMs: 1000 });
  const policy = policyFrom('ociRepository: {allowedIdentities: [{issuer: "^a$", subject: "^b$"}]}');
  const keyless = object({ verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer: '^a$', subject: '^b$' }] } });
  assert.equal(verifier.cached(keyless, policy), 'miss');
  await verifier.verify(keyless, policy, call());
  const hit = verifier.cached(keyless, policy);
  assert.ok(hit !== 'miss' && hit?.ok === true && hit.cached);
  assert.equal(verifier.cached(object({ ref: { tag: 'v1' } }), policy), undefined, 'no digest: nothing to verify');
  now = 1000;
  assert.equal(verifier.cached(keyless, policy), 'miss', 'expired');
  assert.equal(verifyFn.calls, 1, 'cached() never verifies');
});

test('a key-based outcome is cached under the key set that was used: without it cached() cannot answer', async () => {
  const verifyFn = counting(() => SIGNED);
  const verifier = createAdmissionVerifier({ pins, secrets, verifyFn });
  const policy = policyFrom(KEYS);
  await verifier.verify(object(), policy, call());
  assert.equal(verifier.cached(object(), policy), 'miss', 'which keys the Secret holds now needs a read');
  const trust = await readVerifyTrust(readOciRepository(object()), 'apps', policy, secrets, call());
  const hit = verifier.cached(object(), policy, trust);
  assert.ok(hit !== 'miss' && hit?.ok === true);
  assert.equal(verifyFn.calls, 1);
});

test('transient failures never reach cached(): the next admission asks again', async () => {
  const verifyFn = counting(() => fail('PW_REGISTRY_UNREACHABLE'));
  const verifier = createAdmissionVerifier({ pins, secrets, verifyFn });
  const policy = policyFrom(KEYS);
  await verifier.verify(object(), policy, call());
  assert.equal(verifier.cached(object(), policy), 'miss');
});

test('a warm cache answers /validate synchronously, and the rules still run', () => {
  const verifier = createAdmissionVerifier({ pins, secrets, verifyFn: counting(() => SIGNED) });
  // warn mode: the insecure finding stays a warning, so the verdict is not deny and verification runs.
  const policy = policyFrom(
    'mode: warn\nociRepository: {verifyAtAdmission: true, allowedIdentities: [{issuer: "^a$", subject: "^b$"}]}',
  );
  const deps = { pins, failures: createPinFailureLog(), now: () => new Date(), verifier };
  // Keyless on the public-good root: no Secret to read, so nothing but the cache is needed.
  const input = {
    object: object({
      verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer: '^a$', subject: '^b$' }] },
      insecure: true,
    }),
  };
  return (async () => {
    await verifier.verify(input.object, policy, call());
    const result = validateObject(input, policy, deps);
    assert.ok(!(result instanceof Promise), 'no promise on a warm cache');
    assert.equal(result.verification?.ok, true);
    assert.deepEqual(
      result.evaluation.findings.map((finding) => finding.ruleId),
      ['insecure-not-allowed'],
      'a cache hit never skips a rule',
    );
  })();
});

test('the cache key includes the key set used: a Secret rotated to another trusted key is verified again', async () => {
  const second = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ format: 'pem', type: 'spki' })
    .toString();
  const content: Record<string, string> = { 'cosign.pub': PLATFORM_KEY_PEM };
  const rotating = {
    ...secrets,
    getSecret: async () => ({
      type: 'Opaque',
      data: Object.fromEntries(Object.entries(content).map(([k, v]) => [k, Buffer.from(v)])),
    }),
  };
  const verifyFn = counting(() => SIGNED);
  const verifier = createAdmissionVerifier({ pins, secrets: rotating, verifyFn });
  const policy = policyFrom(
    `ociRepository: {trustedKeys: ["${publicKeyFingerprint(PLATFORM_KEY_PEM)}", "${publicKeyFingerprint(second)}"]}`,
  );
  await verifier.verify(object(), policy, call());
  await verifier.verify(object(), policy, call());
  assert.equal(verifyFn.calls, 1, 'same keys: cached');
  content['cosign.pub'] = second;
  await verifier.verify(object(), policy, call());
  assert.equal(verifyFn.calls, 2, 'other keys: not the cached answer');
});

test('the verifier hands the signature room only the vetted keys and never a root it did not vet', async () => {
  let seenKeys: Readonly<Record<string, string>> | undefined;
  let seenRoot: string | undefined;
  const spy: SignatureVerifier = async (_repository, _subject, block, options) => {
    seenKeys = await options.secrets?.(block.secretRef?.name ?? '', call());
    seenRoot = (await options.trustRoots?.trustRoot(block, call()))?.source;
    await assert.rejects(options.secrets!('some-other-secret', call()), { code: 'PW_KEY_NOT_TRUSTED' });
    return SIGNED;
  };
  const verifier = createAdmissionVerifier({ pins, secrets, verifyFn: spy });
  const outcome = await verifier.verify(object(), policyFrom(KEYS), call());
  assert.equal(outcome?.ok, true);
  assert.deepEqual(seenKeys, { 'cosign.pub': PLATFORM_KEY_PEM });
  assert.match(seenRoot ?? '', /public-good/);
});

test('a verify block the signature room refuses (a non-string identity) is answered with its error, never verified', async () => {
  const verifyFn = counting(() => SIGNED);
  const verifier = createAdmissionVerifier({ pins, secrets, verifyFn });
  const keyless = object({ verify: { provider: 'cosign', matchOIDCIdentity: [{ issuer: 42, subject: 'x' }] } });
  const outcome = await verifier.verify(keyless, policyFrom(KEYS), call());
  assert.equal(outcome?.ok, false);
  assert.equal(outcome?.ok === false ? outcome.error.code : undefined, 'PW_INPUT_INVALID');
  assert.equal(verifyFn.calls, 0);
});
