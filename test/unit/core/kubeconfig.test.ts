// A tenant's kubeconfig for spec.kubeConfig: parsed into the few fields pinwarden connects with; the server must be
// in the operator's allow-list; exec/auth-provider, insecure TLS, file references refused; messages never carry the
// document's content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_KUBECONFIG_BYTES,
  parseRemoteClusterAddress,
  parseRemoteKubeConfig,
} from '../../../src/core/kubeconfig/index.ts';
import type { RemoteClusterRules } from '../../../src/core/kubeconfig/index.ts';
import { PinwardenError } from '../../../src/core/errors.ts';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLXZhbHVl.signature-part';
const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
const RULES: RemoteClusterRules = { allowedServers: ['127.0.0.1:6443'], allowExec: false, allowInsecureTls: false };
const WHERE = "Secret 'team/remote' key 'value'";

function kubeconfig(
  options: {
    server?: string;
    cluster?: Record<string, unknown>;
    user?: Record<string, unknown>;
    current?: string;
  } = {},
): Uint8Array {
  const cluster = {
    server: options.server ?? 'https://127.0.0.1:6443',
    'certificate-authority-data': CA,
    ...options.cluster,
  };
  const user = options.user ?? { token: TOKEN };
  return Buffer.from(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': options.current ?? 'ctx',
    }),
  );
}

function refused(bytes: Uint8Array, rules: RemoteClusterRules, code: string, message: RegExp): void {
  assert.throws(
    () => parseRemoteKubeConfig(bytes, rules, WHERE),
    (error: unknown) => {
      assert.ok(error instanceof PinwardenError, String(error));
      assert.equal(error.code, code, error.message);
      assert.match(error.message, message);
      assert.match(error.message, /Secret 'team\/remote' key 'value'/, 'names the Secret and key');
      assert.ok(!error.message.includes(TOKEN) && !error.message.includes(CA), 'never the content');
      return true;
    },
  );
}

test('a token kubeconfig for an allowed server: server, address, CA and token, nothing else', () => {
  const parsed = parseRemoteKubeConfig(kubeconfig(), RULES, WHERE);
  assert.equal(parsed.server, 'https://127.0.0.1:6443');
  assert.equal(parsed.address, '127.0.0.1:6443');
  assert.equal(parsed.caData, CA);
  assert.equal(parsed.insecureSkipTlsVerify, false);
  assert.deepEqual(parsed.user, { token: TOKEN });
});

test('YAML with a client certificate, tls-server-name, and the only context when current-context is empty', () => {
  const yaml = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: remote',
    '  cluster:',
    '    server: https://API.Example.COM',
    `    certificate-authority-data: ${CA}`,
    '    tls-server-name: api.internal',
    'users:',
    '- name: me',
    '  user:',
    '    client-certificate-data: Y2VydA==',
    '    client-key-data: a2V5',
    'contexts:',
    '- name: only',
    '  context: {cluster: remote, user: me}',
  ].join('\n');
  const parsed = parseRemoteKubeConfig(Buffer.from(yaml), { ...RULES, allowedServers: ['api.example.com:443'] }, WHERE);
  assert.equal(parsed.address, 'api.example.com:443', 'lower-cased, port 443 by default');
  assert.equal(parsed.tlsServerName, 'api.internal');
  assert.deepEqual(parsed.user, { certData: 'Y2VydA==', keyData: 'a2V5' });
});

test('the allow-list: none configured, another host, another port → PW_REMOTE_CLUSTER_DENIED naming the setting', () => {
  refused(
    kubeconfig(),
    { ...RULES, allowedServers: [] },
    'PW_REMOTE_CLUSTER_DENIED',
    /--remote-cluster 127\.0\.0\.1:6443/,
  );
  refused(
    kubeconfig({ server: 'https://10.0.0.1:6443' }),
    RULES,
    'PW_REMOTE_CLUSTER_DENIED',
    /10\.0\.0\.1:6443.*not in.*--remote-cluster/,
  );
  refused(kubeconfig({ server: 'https://127.0.0.1:6444' }), RULES, 'PW_REMOTE_CLUSTER_DENIED', /127\.0\.0\.1:6444/);
  // The URL parser's normal form on both sides: an odd spelling of an allowed address is still that address…
  assert.equal(
    parseRemoteKubeConfig(kubeconfig({ server: 'https://0x7f.1:6443/' }), RULES, WHERE).address,
    '127.0.0.1:6443',
  );
  // …and a host name is not its address.
  refused(kubeconfig({ server: 'https://localhost:6443' }), RULES, 'PW_REMOTE_CLUSTER_DENIED', /localhost:6443/);
});

test('exec and auth-provider plugins are refused unless --insecure-kubeconfig-exec', () => {
  const exec = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/bin/sh', args: ['-c', 'id'] } };
  refused(
    kubeconfig({ user: exec }),
    RULES,
    'PW_KUBECONFIG_REFUSED',
    /exec credential plugin.*--insecure-kubeconfig-exec/,
  );
  refused(kubeconfig({ user: { 'auth-provider': { name: 'oidc' } } }), RULES, 'PW_KUBECONFIG_REFUSED', /auth-provider/);
  const allowed = parseRemoteKubeConfig(kubeconfig({ user: exec }), { ...RULES, allowExec: true }, WHERE);
  assert.equal(allowed.user.exec?.command, '/bin/sh');
});

test('insecure-skip-tls-verify is refused unless --insecure-kubeconfig-tls', () => {
  const insecure = kubeconfig({
    cluster: { 'insecure-skip-tls-verify': true, 'certificate-authority-data': undefined },
  });
  refused(insecure, RULES, 'PW_KUBECONFIG_REFUSED', /insecure-skip-tls-verify.*--insecure-kubeconfig-tls/);
  assert.equal(
    parseRemoteKubeConfig(insecure, { ...RULES, allowInsecureTls: true }, WHERE).insecureSkipTlsVerify,
    true,
  );
});

test('file references, proxy-url, as-impersonation and plain http are refused', () => {
  const token = '/var/run/secrets/kubernetes.io/serviceaccount/token';
  refused(kubeconfig({ user: { tokenFile: token } }), RULES, 'PW_KUBECONFIG_REFUSED', /token file/);
  refused(
    kubeconfig({ user: { 'client-certificate': '/x.crt', 'client-key': '/x.key' } }),
    RULES,
    'PW_KUBECONFIG_REFUSED',
    /file/,
  );
  refused(
    kubeconfig({ cluster: { 'certificate-authority': '/etc/ca.crt' } }),
    RULES,
    'PW_KUBECONFIG_REFUSED',
    /certificate-authority file/,
  );
  refused(
    kubeconfig({ cluster: { 'proxy-url': 'http://10.0.0.9:3128' } }),
    RULES,
    'PW_KUBECONFIG_REFUSED',
    /proxy-url/,
  );
  refused(kubeconfig({ user: { token: TOKEN, as: 'system:admin' } }), RULES, 'PW_KUBECONFIG_REFUSED', /sets as:/);
  refused(kubeconfig({ server: 'http://127.0.0.1:6443' }), RULES, 'PW_KUBECONFIG_REFUSED', /not https/);
});

test('garbage → PW_KUBECONFIG_INVALID with the position only, never the text', () => {
  const garbage = Buffer.from(`token: ${TOKEN}\n  bad: [unclosed\n`);
  refused(garbage, RULES, 'PW_KUBECONFIG_INVALID', /not YAML \(line \d+, column \d+\)/);
  refused(Buffer.from(`just a ${TOKEN} string`), RULES, 'PW_KUBECONFIG_INVALID', /not a YAML mapping/);
  refused(Buffer.alloc(0), RULES, 'PW_KUBECONFIG_INVALID', /empty/);
  refused(Buffer.from([0xff, 0xfe, 0x00]), RULES, 'PW_KUBECONFIG_INVALID', /not UTF-8/);
  refused(Buffer.alloc(MAX_KUBECONFIG_BYTES + 1, 0x61), RULES, 'PW_KUBECONFIG_INVALID', /over the 128 KiB cap/);
  refused(
    kubeconfig({ current: 'other' }),
    RULES,
    'PW_KUBECONFIG_INVALID',
    /current-context 'other' is not in contexts/,
  );
  refused(kubeconfig({ server: '' }), RULES, 'PW_KUBECONFIG_INVALID', /has no server/);
  refused(
    kubeconfig({ cluster: { 'certificate-authority-data': 'not base64!' } }),
    RULES,
    'PW_KUBECONFIG_INVALID',
    /not base64/,
  );
  refused(
    kubeconfig({ user: { token: `${TOKEN}\nX-Injected: 1` } }),
    RULES,
    'PW_KUBECONFIG_INVALID',
    /token is not a single line/,
  );
  refused(
    kubeconfig({ user: { 'client-certificate-data': 'Y2VydA==' } }),
    RULES,
    'PW_KUBECONFIG_INVALID',
    /come together/,
  );
  // A billion-laughs document: refused, quickly, and bounded.
  const laughs = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 12; i++)
    laughs.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)}]`,
    );
  refused(Buffer.from(laughs.join('\n')), RULES, 'PW_KUBECONFIG_INVALID', /alias|not YAML/);
});

test('parseRemoteClusterAddress: HOST[:PORT] normalized like a server URL, anything else refused', () => {
  assert.equal(parseRemoteClusterAddress('127.0.0.1:6443'), '127.0.0.1:6443');
  assert.equal(parseRemoteClusterAddress('API.example.com'), 'api.example.com:443');
  assert.equal(parseRemoteClusterAddress('[::1]:6443'), '[::1]:6443');
  assert.equal(parseRemoteClusterAddress('example.com:443'), 'example.com:443');
  for (const bad of ['', 'https://x', 'x/y', 'user@x', 'x:99999', 'x y', '::1'])
    assert.equal(parseRemoteClusterAddress(bad), undefined, bad);
});

test('a hostile base64 field (a long run of spaces, then a bad character) is refused in linear time', () => {
  const hostile = kubeconfig({ cluster: { 'certificate-authority-data': `${' '.repeat(100_000)}!` } });
  const started = process.hrtime.bigint();
  refused(hostile, RULES, 'PW_KUBECONFIG_INVALID', /certificate-authority-data is not base64/);
  // Generous ceiling on a loaded machine; a quadratic scan of 100,000 characters takes many seconds.
  assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
});
