// The webhook's hot path: 500 concurrent admissions pin the same tag → one manifest request reaches the
// registry (counted by a proxy in front of the real registry), and the next round is served from the cache.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { packArtifact, pushArtifact } from '../../../src/artifact/index.ts';
import {
  HttpRepository,
  createRegistryStats,
  createResolver,
  createTokenCache,
  parseReference,
} from '../../../src/oci/index.ts';
import { startCountingProxy } from '../../helpers/counting-proxy.ts';
import type { CountingProxy } from '../../helpers/counting-proxy.ts';
import { startRegistry } from '../../helpers/registry.ts';
import type { TestRegistry } from '../../helpers/registry.ts';
import { call, makeManifestsDir } from './fixtures.ts';

let registry: TestRegistry;
let proxy: CountingProxy;
let digest: string;
const opened: HttpRepository[] = [];

before(async () => {
  registry = await startRegistry({ mode: 'plain' });
  proxy = await startCountingProxy(registry.url);
  const manifests = await makeManifestsDir();
  try {
    const direct = new HttpRepository(parseReference(`oci://${registry.host}/hot/app`), { insecure: true });
    opened.push(direct);
    digest = (
      await pushArtifact(direct, await packArtifact({ path: manifests.dir, source: 's', revision: 'r' }), 'v1', call())
    ).digest;
  } finally {
    await manifests.cleanup();
  }
});

after(async () => {
  for (const repo of opened) repo.close();
  await proxy?.stop();
  await registry?.stop();
});

test('500 concurrent resolves of one tag → exactly one manifest request; then cache hits', async () => {
  const { stats, onEvent } = createRegistryStats();
  const resolver = createResolver({ onEvent });
  const tokenCache = createTokenCache();
  // A repository per admission request, as the webhook builds them: coalescing keys on identity, not instance.
  const repositories = Array.from(
    { length: 500 },
    () => new HttpRepository(parseReference(`oci://${proxy.host}/hot/app`), { insecure: true, tokenCache, onEvent }),
  );
  opened.push(...repositories);
  proxy.reset();
  const results = await Promise.all(repositories.map((repo) => resolver.resolveTag(repo, 'v1', call(10_000))));
  assert.ok(results.every((descriptor) => descriptor.digest === digest));
  assert.equal(proxy.count('HEAD', '/v2/hot/app/manifests/v1'), 1);
  assert.equal(proxy.count('GET', '/v2/hot/app/manifests/v1'), 0);
  assert.equal(stats.coalesced, 499);

  await Promise.all(repositories.slice(0, 50).map((repo) => resolver.resolveTag(repo, 'v1', call())));
  assert.equal(proxy.count('HEAD', '/v2/hot/app/manifests/v1'), 1, 'served from the TTL cache');
  assert.equal(stats.cacheHits, 50);
});
