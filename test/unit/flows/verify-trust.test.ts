import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { PinwardenError } from '../../../src/core/errors.ts';
import { readOciRepository } from '../../../src/core/flux/index.ts';
import { sha256Name } from '../../../src/core/trust/index.ts';
import { readVerifyTrust } from '../../../src/flows/index.ts';
import type { SecretReader } from '../../../src/kube/index.ts';
import { callWithTimeout } from '../../../src/oci/index.ts';
import { ociRepository } from '../../helpers/admission.ts';
import { policyFrom } from '../../helpers/rule-tester.ts';
import { PLATFORM_KEY_PEM, TRUSTS_PLATFORM_KEY, platformKeySecrets } from '../../helpers/trust.ts';

const ROOT = Buffer.from('{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}');
const POLICY = policyFrom(`ociRepository: {${TRUSTS_PLATFORM_KEY}, trustedRoots: ["${sha256Name(ROOT)}"]}`);
const view = (verify: Record<string, unknown>) =>
  readOciRepository(ociRepository({ verify: { provider: 'cosign', ...verify } }));
const read = (verify: Record<string, unknown>, secrets: SecretReader | undefined) =>
  readVerifyTrust(view(verify), 'apps', POLICY, secrets, callWithTimeout(1000));
const throwing = (error: Error): SecretReader => ({
  getSecret: () => Promise.reject(error),
  getServiceAccount: () => Promise.reject(error),
});

test('trusted keys and a trusted root become usable material, with their facts', async () => {
  const trust = await read(
    { secretRef: { name: 'cosign-pub' }, trustedRootSecretRef: { name: 'root' } },
    platformKeySecrets({ 'apps/root': { data: { 'trusted_root.json': ROOT } } }),
  );
  assert.equal(trust.refusal, undefined);
  assert.deepEqual(trust.keys, { 'cosign.pub': PLATFORM_KEY_PEM });
  assert.deepEqual(trust.trustedRoot?.bytes, ROOT);
  assert.deepEqual(trust.facts.trustedRoot, { ok: true, digest: sha256Name(ROOT) });
});

test('a missing Secret, a missing trusted_root.json key and API failures are facts and refusals, never exceptions', async () => {
  const missing = await read({ secretRef: { name: 'absent' } }, platformKeySecrets());
  assert.deepEqual(missing.facts.keys, { ok: false, problem: 'Secret apps/absent not found' });
  assert.equal(missing.refusal?.code, 'PW_KEY_NOT_TRUSTED');
  assert.equal(missing.keys, undefined);
  const noRootKey = await read({ trustedRootSecretRef: { name: 'cosign-pub' } }, platformKeySecrets());
  assert.match(
    noRootKey.facts.trustedRoot?.ok === false ? noRootKey.facts.trustedRoot.problem : '',
    /'trusted_root\.json' not found/,
  );
  assert.equal(noRootKey.refusal?.code, 'PW_TRUST_ROOT_NOT_TRUSTED');
  const forbidden = await read(
    { secretRef: { name: 'cosign-pub' } },
    throwing(new PinwardenError('PW_KUBE_API', 'reading Secret apps/cosign-pub: Kubernetes API answered 403')),
  );
  assert.match(forbidden.facts.keys?.ok === false ? forbidden.facts.keys.problem : '', /403 \[PW_KUBE_API\]/);
  const foreign = await read(
    { secretRef: { name: 'cosign-pub' } },
    throwing(new Error('token=hunter2 leaked in a message')),
  );
  assert.ok(
    foreign.facts.keys?.ok === false && !foreign.facts.keys.problem.includes('hunter2'),
    'a foreign error text is never shown',
  );
});

test('the trust id names the key set and root used, not entry names or order', async () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ format: 'pem', type: 'spki' })
    .toString();
  const policy = policyFrom(
    `ociRepository: {trustedKeys: ["${PLATFORM_KEY_PEM.replaceAll('\n', '\\n')}", "${other.replaceAll('\n', '\\n')}"]}`,
  );
  const idOf = async (data: Record<string, string>) =>
    (
      await readVerifyTrust(
        view({ secretRef: { name: 'k' } }),
        'apps',
        policy,
        platformKeySecrets({ 'apps/k': { data } }),
        callWithTimeout(1000),
      )
    ).id;
  assert.equal(
    await idOf({ 'a.pub': PLATFORM_KEY_PEM, 'b.pub': other }),
    await idOf({ 'z.pub': other, 'y.pub': PLATFORM_KEY_PEM }),
  );
  assert.notEqual(await idOf({ 'a.pub': PLATFORM_KEY_PEM }), await idOf({ 'a.pub': other }));
});
