// Authentication against the real registry: htpasswd Basic auth and the Docker token flow with a loopback
// token server (ES256 JWTs with an x5c chain the registry verifies against its rootcertbundle).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HttpRepository,
  MEDIA_TYPES,
  createRegistryStats,
  createTokenCache,
  credentialsFromDockerConfig,
  parseReference,
} from '../../../src/oci/index.ts';
import type { Credentials, TokenCache } from '../../../src/oci/index.ts';
import { startRegistry } from '../../helpers/registry.ts';
import type { TestRegistry } from '../../helpers/registry.ts';
import { call, hasCode, jsonBytes } from './fixtures.ts';

const opened: HttpRepository[] = [];

function open(
  registry: TestRegistry,
  credentials: Credentials | undefined,
  tokenCache: TokenCache = createTokenCache(),
  onEvent?: Parameters<typeof createRegistryStats>[0],
): HttpRepository {
  const repo = new HttpRepository(parseReference(`oci://${registry.host}/team/app`), {
    insecure: true,
    tokenCache,
    ...(credentials ? { credentials } : {}),
    ...(onEvent ? { onEvent } : {}),
  });
  opened.push(repo);
  return repo;
}

async function pushSample(repo: HttpRepository, tag: string): Promise<string> {
  const config = await repo.pushBlob(jsonBytes({}), MEDIA_TYPES.ociEmpty, call());
  return (
    await repo.pushManifest(
      jsonBytes({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers: [] }),
      MEDIA_TYPES.ociManifest,
      tag,
      call(),
    )
  ).digest;
}

after(() => {
  for (const repo of opened) repo.close();
});

describe('htpasswd basic auth', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({ mode: 'basic' });
  });
  after(() => registry?.stop());

  test('right credentials push and resolve', async () => {
    const user = registry.user!;
    const repo = open(registry, { username: user.username, password: user.password });
    const digest = await pushSample(repo, 'v1');
    assert.equal((await repo.resolve('v1', call())).digest, digest);
  });

  test('credentials from a dockerconfigjson work the same', async () => {
    const user = registry.user!;
    const config = {
      auths: {
        [`http://${registry.host}`]: { auth: Buffer.from(`${user.username}:${user.password}`).toString('base64') },
      },
    };
    const credentials = credentialsFromDockerConfig(config, registry.host);
    assert.ok(credentials);
    await open(registry, credentials).resolve('v1', call());
  });

  test('a wrong password or no credentials → PW_REGISTRY_AUTH, the password never in the message', async () => {
    await assert.rejects(
      open(registry, { username: registry.user!.username, password: 'hunter2-wrong' }).resolve('v1', call()),
      (error: unknown) => {
        hasCode('PW_REGISTRY_AUTH')(error);
        assert.ok(!(error as Error).message.includes('hunter2'));
        return true;
      },
    );
    await assert.rejects(open(registry, undefined).resolve('v1', call()), hasCode('PW_REGISTRY_AUTH', /401/));
  });
});

describe('token auth', () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({ mode: 'token' });
  });
  after(() => registry?.stop());

  test('push (pull,push scope) then resolve (pull scope) with Basic credentials at the realm', async () => {
    const user = registry.user!;
    const repo = open(registry, { username: user.username, password: user.password });
    const digest = await pushSample(repo, 'v1');
    assert.equal((await repo.resolve('v1', call())).digest, digest);
    const scopes = new Set(registry.tokenServer!.requests.map((r) => r.scope));
    assert.ok(scopes.has('repository:team/app:pull,push'));
    assert.ok(scopes.has('repository:team/app:pull'));
  });

  test('the token is cached: many resolves, one token request (across repository instances)', async () => {
    const user = registry.user!;
    const cache = createTokenCache();
    const { stats, onEvent } = createRegistryStats();
    const before = registry.tokenServer!.requests.length;
    for (let i = 0; i < 5; i++)
      await open(registry, { username: user.username, password: user.password }, cache, onEvent).resolve('v1', call());
    assert.equal(registry.tokenServer!.requests.length - before, 1);
    assert.equal(stats.tokensFetched, 1);
    assert.equal(stats.requests['manifest HEAD 401'], 1, 'only the first instance met the challenge');
    assert.equal(stats.requests['manifest HEAD 200'], 5);
  });

  test('an identity token goes through the OAuth2 POST grant', async () => {
    const repo = open(registry, { username: '<token>', identityToken: registry.user!.identityToken });
    await repo.resolve('v1', call());
    const last = registry.tokenServer!.requests.at(-1);
    assert.equal(last?.method, 'POST');
    assert.equal(last?.grant, 'refresh_token');
  });

  test('refused and anonymous callers → PW_REGISTRY_AUTH', async () => {
    await assert.rejects(
      open(registry, { username: registry.user!.username, password: 'nope' }).resolve('v1', call()),
      hasCode('PW_REGISTRY_AUTH'),
    );
    // Anonymous gets a token without access; the registry still says 401 (insufficient scope).
    await assert.rejects(open(registry, undefined).resolve('v1', call()), hasCode('PW_REGISTRY_AUTH'));
  });
});
