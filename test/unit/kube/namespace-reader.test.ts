import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { cachingNamespaceReader, createMemoryNamespaceReader } from '../../../src/kube/index.ts';
import type { NamespaceReader } from '../../../src/kube/index.ts';

test('the caching reader remembers labels (and absence) for its TTL, with an injected clock', async () => {
  const memory = createMemoryNamespaceReader({ 'team-a': { tenant: 'true' } });
  let now = 0;
  const cached = cachingNamespaceReader(memory, 1000, () => now);
  assert.deepEqual(await cached.getNamespaceLabels('team-a'), { tenant: 'true' });
  assert.equal(await cached.getNamespaceLabels('missing'), undefined);
  await cached.getNamespaceLabels('team-a');
  await cached.getNamespaceLabels('missing');
  assert.equal(memory.reads, 2);
  now = 1001;
  await cached.getNamespaceLabels('team-a');
  assert.equal(memory.reads, 3);
});

test('errors are not remembered', async () => {
  let calls = 0;
  const flaky: NamespaceReader = {
    async getNamespaceLabels() {
      calls += 1;
      if (calls === 1) throw new PinwardenError('PW_KUBE_API', 'reading Namespace x: Kubernetes API answered 503');
      return { ok: 'yes' };
    },
  };
  const cached = cachingNamespaceReader(flaky, 1000, () => 0);
  await assert.rejects(
    cached.getNamespaceLabels('x'),
    (error: unknown) => error instanceof PinwardenError && error.code === 'PW_KUBE_API',
  );
  assert.deepEqual(await cached.getNamespaceLabels('x'), { ok: 'yes' });
  assert.equal(calls, 2);
});
