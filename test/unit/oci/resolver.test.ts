import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { MemoryRepository, createRegistryStats, createResolver } from '../../../src/oci/index.ts';
import type { Call, Descriptor } from '../../../src/oci/index.ts';

const call = (): Call => ({ signal: new AbortController().signal });

/** A MemoryRepository whose resolve calls are counted and can be held open until `release()`. */
class GatedRepository extends MemoryRepository {
  resolveCalls = 0;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};
  readonly cacheIdentity: string;

  constructor(identity = 'memory|anonymous') {
    super('memory.local/app');
    this.cacheIdentity = identity;
  }

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open();
  }

  override async resolve(reference: string, c: Call): Promise<Descriptor> {
    this.resolveCalls++;
    await this.gate;
    c.signal.throwIfAborted();
    return super.resolve(reference, c);
  }
}

async function seeded(identity?: string): Promise<{ repo: GatedRepository; digests: Record<string, string> }> {
  const repo = new GatedRepository(identity);
  const digests: Record<string, string> = {};
  for (const tag of ['v1.0.0', 'v1.1.0', 'v2.0.0-rc.1', 'latest', 'app-3.0.0']) {
    digests[tag] = (await repo.pushJson({ schemaVersion: 2, tag }, tag)).digest;
  }
  return { repo, digests };
}

test('identical in-flight resolves share one registry request', async () => {
  const { repo, digests } = await seeded();
  const { stats, onEvent } = createRegistryStats();
  const resolver = createResolver({ onEvent });
  repo.hold();
  const pending = Array.from({ length: 100 }, () => resolver.resolveTag(repo, 'v1.0.0', call()));
  repo.release();
  const results = await Promise.all(pending);
  assert.equal(repo.resolveCalls, 1);
  assert.ok(results.every((d) => d.digest === digests['v1.0.0']));
  assert.equal(stats.coalesced, 99);
  assert.equal(stats.cacheMisses, 100);
});

test('cache: hits within the TTL, a fresh lookup after it; different identities never share', async () => {
  const { repo } = await seeded();
  let now = 0;
  const resolver = createResolver({ ttlMs: 60_000, now: () => now });
  await resolver.resolveTag(repo, 'v1.0.0', call());
  now = 59_999;
  await resolver.resolveTag(repo, 'v1.0.0', call());
  assert.equal(repo.resolveCalls, 1);
  now = 60_000;
  await resolver.resolveTag(repo, 'v1.0.0', call());
  assert.equal(repo.resolveCalls, 2);
  const other = (await seeded('memory|sha256:other-credentials')).repo;
  await resolver.resolveTag(other, 'v1.0.0', call());
  assert.equal(other.resolveCalls, 1);
});

test('errors are not cached', async () => {
  const { repo } = await seeded();
  const resolver = createResolver();
  await assert.rejects(
    resolver.resolveTag(repo, 'missing', call()),
    (e: unknown) => e instanceof PinwardenError && e.code === 'PW_MANIFEST_UNKNOWN',
  );
  await repo.pushJson({ schemaVersion: 2, late: true }, 'missing');
  await resolver.resolveTag(repo, 'missing', call());
  assert.equal(repo.resolveCalls, 2);
});

test('a waiter that times out leaves; the others still get the answer', async () => {
  const { repo, digests } = await seeded();
  const resolver = createResolver();
  repo.hold();
  const impatient = new AbortController();
  const first = resolver.resolveTag(repo, 'v1.1.0', { signal: impatient.signal });
  const second = resolver.resolveTag(repo, 'v1.1.0', call());
  impatient.abort(new Error('deadline'));
  await assert.rejects(first, (e: unknown) => e instanceof PinwardenError && e.code === 'PW_DEADLINE');
  repo.release();
  assert.equal((await second).digest, digests['v1.1.0']);
  assert.equal(repo.resolveCalls, 1);
});

test('when every waiter leaves, the shared request is aborted', async () => {
  const { repo } = await seeded();
  const resolver = createResolver();
  repo.hold();
  const controller = new AbortController();
  const only = resolver.resolveTag(repo, 'v1.0.0', { signal: controller.signal });
  controller.abort(new Error('deadline'));
  await assert.rejects(only, (e: unknown) => e instanceof PinwardenError && e.code === 'PW_DEADLINE');
  repo.release();
  // The next caller starts over instead of joining the aborted flight.
  await new Promise((resolve) => setImmediate(resolve));
  await resolver.resolveTag(repo, 'v1.0.0', call());
  assert.equal(repo.resolveCalls, 2);
});

test('resolveSemver: highest matching tag (filtered with a Go regexp), then its digest', async () => {
  const { repo, digests } = await seeded();
  const resolver = createResolver();
  assert.deepEqual(await resolver.resolveSemver(repo, '>=1.0.0', undefined, call()), {
    tag: 'v1.1.0',
    descriptor: await repo.resolve('v1.1.0', call()),
  });
  assert.equal((await resolver.resolveSemver(repo, '>=1.0.0-0', '^v', call())).tag, 'v2.0.0-rc.1');
  assert.equal((await resolver.resolveSemver(repo, '~1.0', undefined, call())).descriptor.digest, digests['v1.0.0']);
  await assert.rejects(
    resolver.resolveSemver(repo, '>=5.0.0', undefined, call()),
    (e: unknown) => e instanceof PinwardenError && e.code === 'PW_NO_MATCHING_TAG',
  );
  // 'app-3.0.0' is not a version tag, even though 3.0.0 would match.
  await assert.rejects(
    resolver.resolveSemver(repo, '>=3.0.0', undefined, call()),
    (e: unknown) => e instanceof PinwardenError && e.code === 'PW_NO_MATCHING_TAG',
  );
});

test('peekTag and peekSemver answer only from the cache: no registry call, a hit counted, a miss not', async () => {
  const { repo, digests } = await seeded();
  let now = 0;
  const { stats, onEvent } = createRegistryStats();
  const resolver = createResolver({ ttlMs: 1000, now: () => now, onEvent });
  assert.equal(resolver.peekTag(repo, 'v1.0.0'), undefined);
  assert.equal(resolver.peekSemver(repo, '>=1.0.0 <2.0.0', undefined), undefined);
  assert.equal(stats.cacheMisses + stats.cacheHits, 0, 'a peek miss is counted by the resolve that follows it');
  await resolver.resolveTag(repo, 'v1.0.0', call());
  await resolver.resolveSemver(repo, '>=1.0.0 <2.0.0', undefined, call());
  const calls = repo.resolveCalls;
  const hitsBefore = stats.cacheHits;
  assert.equal(resolver.peekTag(repo, 'v1.0.0')?.digest, digests['v1.0.0']);
  assert.equal(resolver.peekSemver(repo, '>=1.0.0 <2.0.0', undefined)?.tag, 'v1.1.0');
  assert.equal(repo.resolveCalls, calls, 'peeks never ask the registry');
  assert.equal(stats.cacheHits - hitsBefore, 2, 'each peek hit is counted once');
  assert.equal(
    resolver.peekTag(new GatedRepository('memory|sha256:other-credentials'), 'v1.0.0'),
    undefined,
    'identities never share',
  );
  now = 1000;
  assert.equal(resolver.peekTag(repo, 'v1.0.0'), undefined, 'expired');
});
