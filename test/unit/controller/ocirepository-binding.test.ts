// Commit binding (#13) through the controller's OCIRepository reconciler: `warn` keeps SourceVerified=True and
// says why in its message; `refuse` is SourceVerified=False, PW_COMMIT_BINDING, and nothing is pulled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactStore, createOciRepositoryController } from '../../../src/controller/index.ts';
import type { StatusUpdate } from '../../../src/controller/runtime/status.ts';
import { loadPolicy } from '../../../src/core/policy/index.ts';
import type { BindingDecision } from '../../../src/core/binding/index.ts';
import type { AdmissionVerifier, PinResolver, VerifyOutcome } from '../../../src/flows/index.ts';
import { MemoryRepository } from '../../../src/oci/index.ts';
import type { VerifiedSignature } from '../../../src/signature/index.ts';

const POLICY = loadPolicy(
  `apiVersion: pinwarden.dev/v1alpha1
kind: SourcePolicy
metadata: {name: binding-test}
spec:
  ociRepository:
    requireVerify: true
    allowedIdentities:
      - issuer: '^https://token\\.actions\\.githubusercontent\\.com$'
        subject: '^https://github\\.com/acme/'
    allowedRegistries: ["oci://memory.local/"]
`,
  'binding-test.yaml',
);

const OBJECT = {
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'OCIRepository',
  metadata: {
    name: 'app',
    namespace: 'team',
    generation: 1,
    resourceVersion: '1',
    uid: 'u1',
    finalizers: ['finalizers.pinwarden.dev'],
  },
  spec: {
    interval: '5m',
    url: 'oci://memory.local/repo',
    ref: { tag: 'v1' },
    verify: {
      provider: 'cosign',
      matchOIDCIdentity: [
        { issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/app/' },
      ],
    },
  },
};

const UNBOUND = 'the artifact names commit 1111111 but the signing workflow ran on commit 2222222';

async function reconcileWith(decision: BindingDecision) {
  const repository = new MemoryRepository('memory.local/repo');
  await repository.pushJson(
    { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [] },
    'v1',
  );
  const dir = mkdtempSync(join(tmpdir(), 'pw-binding-'));
  const store = createArtifactStore({ root: dir });
  await store.open();
  const updates: StatusUpdate[] = [];
  let pulls = 0;
  const outcome: VerifyOutcome = {
    ok: true,
    cached: false,
    signature: {} as VerifiedSignature,
    binding: { decision },
  };
  const verifier: AdmissionVerifier = { verify: async () => outcome, cached: () => 'miss' };
  const pins: PinResolver = {
    resolve: () => Promise.reject(new Error('not used')),
    repository: async () => repository,
    close: () => undefined,
  };
  const controller = createOciRepositoryController({
    status: {
      write: async (object, update) => {
        updates.push(update);
        return object;
      },
    },
    finalizers: {
      name: 'finalizers.pinwarden.dev',
      add: () => Promise.reject(new Error('the object already has the finalizer')),
      remove: () => Promise.reject(new Error('the object is not being deleted')),
    },
    events: { record: async () => undefined, dropped: () => 0 },
    store,
    pins,
    verifier,
    pull: async () => {
      pulls++;
      return { annotations: {} } as never;
    },
    policy: () => POLICY,
  });
  const answer = await controller.reconcile({
    object: structuredClone(OBJECT),
    signal: new AbortController().signal,
    stopping: new AbortController().signal,
  });
  rmSync(dir, { recursive: true, force: true });
  const last = updates.at(-1)!;
  const verified = last.conditions.find((condition) => condition.type === 'SourceVerified');
  return { answer, verified, pulls };
}

const check = { bound: false } as never;

test('commitBinding warn: SourceVerified stays True and its message carries the warning', async () => {
  const { verified, pulls } = await reconcileWith({ action: 'warn', check, message: UNBOUND, brief: 'unbound' });
  assert.equal(verified?.status, 'True');
  assert.match(
    verified?.message ?? '',
    /^verified signature of revision v1@sha256:[0-9a-f]{64}; warning: the artifact names commit 1111111/,
  );
  assert.equal(pulls, 1);
});

test('commitBinding refuse: SourceVerified=False with the reason, PW_COMMIT_BINDING, nothing pulled', async () => {
  const { answer, verified, pulls } = await reconcileWith({
    action: 'refuse',
    check,
    message: UNBOUND,
    brief: 'unbound',
  });
  assert.equal(verified?.status, 'False');
  assert.equal(verified?.reason, 'VerificationError');
  assert.match(verified?.message ?? '', /using provider 'cosign keyless': .*signing workflow ran on commit 2222222/);
  assert.equal(answer.error?.code, 'PW_COMMIT_BINDING');
  assert.equal(pulls, 0);
});

test('commitBinding accept: the message is the plain one', async () => {
  const { verified } = await reconcileWith({ action: 'accept' });
  assert.equal(verified?.status, 'True');
  assert.match(verified?.message ?? '', /^verified signature of revision v1@sha256:[0-9a-f]{64}$/);
});
