// spec.kubeConfig's resolver: the Secret read through the kube room's SecretReader (key, else value, then
// value.yaml), judged by core/kubeconfig, clients cached by the Secret's resourceVersion in a bounded LRU; which
// errors stall the Kustomization and which are retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeSecret, ObjectClient, ObjectClients, SecretReader } from '../../../../src/kube/index.ts';
import { createRemoteClusters, remoteClientFor } from '../../../../src/controller/kustomization/index.ts';
import type { RemoteClusterRules } from '../../../../src/controller/kustomization/index.ts';

const TOKEN = 'remote-token-1234567890';
const RULES: RemoteClusterRules = { allowedServers: ['10.1.2.3:6443'], allowExec: false, allowInsecureTls: false };

function kubeconfig(server = 'https://10.1.2.3:6443', token = TOKEN): Uint8Array {
  return Buffer.from(
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "' + server + '"}}]',
      'users: [{name: u, user: {token: "' + token + '"}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
    ].join('\n'),
  );
}

function reader(secrets: Record<string, KubeSecret>): SecretReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async getSecret(namespace, name) {
      reads.push(`${namespace}/${name}`);
      return secrets[`${namespace}/${name}`];
    },
    async getServiceAccount() {
      return undefined;
    },
  };
}

function builder(): {
  build: (config: { server: string; user: { token?: string } }) => ObjectClients;
  built: Array<{ server: string; token?: string }>;
} {
  const built: Array<{ server: string; token?: string }> = [];
  return {
    built,
    build(config) {
      built.push({ server: config.server, ...(config.user.token === undefined ? {} : { token: config.user.token }) });
      const client = { server: config.server } as unknown as ObjectClient;
      return {
        client,
        clientFor: (account) =>
          account === undefined
            ? client
            : ({ server: config.server, as: `${account.namespace}/${account.name}` } as unknown as ObjectClient),
      };
    },
  };
}

test('value then value.yaml, or the named key; a client per resourceVersion, reused until the Secret changes', async () => {
  const secrets: Record<string, KubeSecret> = {
    'team/kc': { type: 'Opaque', data: { 'value.yaml': kubeconfig() }, resourceVersion: '7' },
  };
  const made = builder();
  const remote = createRemoteClusters({ secrets: reader(secrets), rules: RULES, build: made.build });
  const first = await remote.clientsFor({ kind: 'Secret', name: 'kc' }, 'team');
  assert.equal(
    await remote.clientsFor({ kind: 'Secret', name: 'kc' }, 'team'),
    first,
    'same resourceVersion: same clients',
  );
  assert.equal(made.built.length, 1);
  assert.deepEqual(made.built[0], { server: 'https://10.1.2.3:6443', token: TOKEN });
  // A new resourceVersion (the Secret was edited): parsed and built again.
  secrets['team/kc'] = {
    type: 'Opaque',
    data: { value: kubeconfig(undefined, 'rotated-token-000') },
    resourceVersion: '8',
  };
  const second = await remote.clientsFor({ kind: 'Secret', name: 'kc' }, 'team');
  assert.notEqual(second, first);
  assert.equal(made.built[1]?.token, 'rotated-token-000', "'value' is read first");
  // The named key only.
  secrets['team/kc'] = { type: 'Opaque', data: { value: kubeconfig(), custom: kubeconfig(undefined, 'custom-token') } };
  await remote.clientsFor({ kind: 'Secret', name: 'kc', key: 'custom' }, 'team');
  assert.equal(made.built.at(-1)?.token, 'custom-token');
});

test('the cache is bounded: least recently used clients go first', async () => {
  const secrets: Record<string, KubeSecret> = {};
  for (let i = 0; i < 5; i++)
    secrets[`team/kc${i}`] = { type: 'Opaque', data: { value: kubeconfig() }, resourceVersion: String(i) };
  const made = builder();
  const remote = createRemoteClusters({ secrets: reader(secrets), rules: RULES, build: made.build, maxClients: 3 });
  for (let i = 0; i < 5; i++) await remote.clientsFor({ kind: 'Secret', name: `kc${i}` }, 'team');
  assert.equal(remote.size, 3);
  await remote.clientsFor({ kind: 'Secret', name: 'kc4' }, 'team');
  assert.equal(made.built.length, 5, 'a kept one is reused');
  await remote.clientsFor({ kind: 'Secret', name: 'kc0' }, 'team');
  assert.equal(made.built.length, 6, 'an evicted one is built again');
});

test('errors: missing Secret/key retried; no allow-list, configMapRef, exec stall; nothing read without an allow-list', async () => {
  const secrets: Record<string, KubeSecret> = {
    'team/kc': { type: 'Opaque', data: { other: kubeconfig() } },
    'team/far': { type: 'Opaque', data: { value: kubeconfig('https://169.254.169.254') } },
  };
  const read = reader(secrets);
  const remote = createRemoteClusters({ secrets: read, rules: RULES, build: builder().build });
  const spec = (kubeConfig: Parameters<typeof remoteClientFor>[1]['kubeConfig']) => ({ namespace: 'team', kubeConfig });
  const cases: Array<[Parameters<typeof remoteClientFor>[1]['kubeConfig'], string, boolean, RegExp]> = [
    [{ kind: 'Secret', name: 'gone' }, 'PW_KUBECONFIG_NOT_FOUND', false, /Secret 'team\/gone' not found/],
    [{ kind: 'Secret', name: 'kc' }, 'PW_KUBECONFIG_NOT_FOUND', false, /has no key 'value' or 'value\.yaml'/],
    [{ kind: 'Secret', name: 'kc', key: 'nope' }, 'PW_KUBECONFIG_NOT_FOUND', false, /has no key 'nope'/],
    [{ kind: 'Secret', name: 'far' }, 'PW_REMOTE_CLUSTER_DENIED', true, /169\.254\.169\.254:443/],
    [{ kind: 'ConfigMap', name: 'wi' }, 'PW_KUBECONFIG_REFUSED', true, /configMapRef.*not supported/],
    [
      { kind: 'invalid', problem: 'spec.kubeConfig.secretRef.name is missing' },
      'PW_KUBECONFIG_INVALID',
      true,
      /name is missing/,
    ],
  ];
  for (const [ref, code, stalled, message] of cases) {
    const answer = await remoteClientFor(remote, spec(ref), undefined);
    assert.ok('error' in answer, JSON.stringify(ref));
    assert.equal(answer.error.code, code, answer.error.message);
    assert.equal(answer.stalled, stalled, code);
    assert.match(answer.error.message, message);
    assert.ok(!answer.error.message.includes(TOKEN));
  }
  // No allow-list (the default): refused before the Secret is read, naming the flag and the chart value.
  const none = createRemoteClusters({ secrets: read, rules: { ...RULES, allowedServers: [] }, build: builder().build });
  const before = read.reads.length;
  const refused = await remoteClientFor(none, spec({ kind: 'Secret', name: 'kc' }), undefined);
  assert.ok('error' in refused && refused.stalled && refused.error.code === 'PW_REMOTE_CLUSTER_DENIED');
  assert.match(refused.error.message, /--remote-cluster.*controller\.kustomization\.remoteClusters/);
  assert.equal(read.reads.length, before, 'no Secret read');
  const unwired = await remoteClientFor(undefined, spec({ kind: 'Secret', name: 'kc' }), undefined);
  assert.ok('error' in unwired && unwired.error.code === 'PW_REMOTE_CLUSTER_DENIED');
});

test('serviceAccountName is impersonated on the remote cluster', async () => {
  const remote = createRemoteClusters({
    secrets: reader({ 'team/kc': { type: 'Opaque', data: { value: kubeconfig() }, resourceVersion: '1' } }),
    rules: RULES,
    build: builder().build,
  });
  const answer = await remoteClientFor(
    remote,
    { namespace: 'team', kubeConfig: { kind: 'Secret', name: 'kc' } },
    { namespace: 'team', name: 'deployer' },
  );
  assert.ok('client' in answer);
  assert.deepEqual(answer.client, { server: 'https://10.1.2.3:6443', as: 'team/deployer' });
});
