import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { cachingSecretReader, createMemorySecretReader } from '../../../src/kube/index.ts';
import type { SecretReader } from '../../../src/kube/index.ts';

test('memory reader: text values become bytes; absent → undefined', async () => {
  const reader = createMemorySecretReader({
    secrets: { 'ns/a': { data: { key: 'value' } } },
    serviceAccounts: { 'ns/sa': { imagePullSecrets: ['a'] } },
  });
  const secret = await reader.getSecret('ns', 'a');
  assert.equal(new TextDecoder().decode(secret?.data.key), 'value');
  assert.equal(secret?.type, 'Opaque');
  assert.equal(await reader.getSecret('ns', 'b'), undefined);
  assert.deepEqual(await reader.getServiceAccount('ns', 'sa'), { imagePullSecrets: ['a'] });
  assert.equal(await reader.getServiceAccount('other', 'sa'), undefined);
});

test('caching reader: one read per TTL (found or not), shared in flight, errors never kept', async () => {
  let now = 0;
  const memory = createMemorySecretReader({ secrets: { 'ns/a': { data: { k: 'v' } } } });
  const cached = cachingSecretReader(memory, 1000, () => now);
  await Promise.all([
    cached.getSecret('ns', 'a'),
    cached.getSecret('ns', 'a'),
    cached.getSecret('ns', 'missing'),
    cached.getSecret('ns', 'missing'),
  ]);
  assert.equal(memory.reads, 2);
  now = 1000;
  await cached.getSecret('ns', 'a');
  assert.equal(memory.reads, 3);

  let calls = 0;
  const flaky: SecretReader = {
    getSecret: async () => {
      calls++;
      if (calls === 1) throw new PinwardenError('PW_DEADLINE', 'slow API');
      return { type: 'Opaque', data: {} };
    },
    getServiceAccount: async () => undefined,
  };
  const retrying = cachingSecretReader(flaky, 1000, () => 0);
  await assert.rejects(retrying.getSecret('ns', 'a'), { code: 'PW_DEADLINE' });
  assert.ok(await retrying.getSecret('ns', 'a'));
  assert.equal(calls, 2);
});
