// Issue #8 item 4: every deny rule through the real apiserver, with the message exactly where kubectl
// prints it (rule id and fix visible, exit code 1), and nothing stored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Loose } from '../../helpers/admission.ts';
import { RULE_IDS } from '../../../src/core/rules/index.ts';
import { loopbackPolicy } from '../../support/policies.ts';
import { startWebhookEnv } from '../../support/webhook-env.ts';
import type { WebhookEnv } from '../../support/webhook-env.ts';

let env: WebhookEnv;
before(async () => {
  env = await startWebhookEnv();
});
after(() => env?.stop());

const GITHUB = '^https://token\\.actions\\.githubusercontent\\.com$';
const keyless = (subject: string): Loose => ({ provider: 'cosign', matchOIDCIdentity: [{ issuer: GITHUB, subject }] });

function bucket(ns: string, spec: Record<string, unknown>): Loose {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'Bucket',
    metadata: { name: 'app', namespace: ns },
    spec: { interval: '5m', bucketName: 'manifests', endpoint: 'minio.example.com', ...spec },
  };
}

/** One violating object per deny rule (key-not-trusted needs another policy: its own test below). */
const CASES: Array<{ rule: string; object: (ns: string) => Loose; setup?: (ns: string) => Promise<void> }> = [
  { rule: 'verify-required', object: (ns) => env.repo({ namespace: ns, verify: null }) },
  {
    rule: 'verify-provider-not-allowed',
    object: (ns) =>
      env.repo({ namespace: ns, verify: { provider: 'notation', secretRef: { name: 'notation-certs' } } }),
  },
  { rule: 'keyless-identity-required', object: (ns) => env.repo({ namespace: ns, verify: { provider: 'cosign' } }) },
  {
    rule: 'key-based-not-allowed',
    object: (ns) => env.repo({ namespace: ns, verify: { provider: 'cosign', secretRef: { name: 'cosign-pub' } } }),
  },
  {
    rule: 'trusted-root-not-allowed',
    setup: async (ns) =>
      void (await env.cp.kubectlOk([
        'create',
        'secret',
        'generic',
        'own-root',
        '-n',
        ns,
        '--from-literal=trusted_root.json={"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}',
      ])),
    object: (ns) =>
      env.repo({
        namespace: ns,
        verify: { ...keyless('^https://github\\.com/acme/'), trustedRootSecretRef: { name: 'own-root' } },
      }),
  },
  {
    rule: 'identity-regex-invalid',
    object: (ns) => env.repo({ namespace: ns, verify: keyless('^https://github\\.com/acme/(?=x)') }),
  },
  {
    rule: 'identity-not-allowed',
    object: (ns) => env.repo({ namespace: ns, verify: keyless('^https://github\\.com/evil/') }),
  },
  { rule: 'identity-too-complex', object: (ns) => env.repo({ namespace: ns, verify: keyless('(a|b)*a(a|b){30}') }) },
  { rule: 'digest-required', object: (ns) => env.repo({ namespace: ns, ref: { tag: '9.9.9' } }) },
  {
    // Pinned from 1.0.0, then the tag moved to one the registry lacks: /mutate cannot re-pin, the stale digest stays.
    rule: 'pinned-from-mismatch',
    object: (ns) =>
      env.repo({
        namespace: ns,
        ref: { tag: '9.9.9', digest: env.digests['1.0.0'] ?? '' },
        annotations: { 'pinwarden.dev/pinned-from': 'tag:1.0.0' },
      }),
  },
  { rule: 'insecure-not-allowed', object: (ns) => env.repo({ namespace: ns, extraSpec: { insecure: true } }) },
  {
    rule: 'registry-not-allowed',
    object: (ns) => env.repo({ namespace: ns, url: `oci://127.0.0.2:${env.registry.host.split(':')[1]}/acme/app` }),
  },
  { rule: 'bucket-ignore-required', object: (ns) => bucket(ns, {}) },
  { rule: 'bucket-insecure-not-allowed', object: (ns) => bucket(ns, { ignore: '/*\n!/deploy\n', insecure: true }) },
  {
    rule: 'input-too-large',
    object: (ns) => env.repo({ namespace: ns, verify: keyless(`^https://github\\.com/acme/${'a'.repeat(1100)}`) }),
  },
];

test('the table covers every rule that denies (identity-multiple-entries and commit-binding-annotation only warn; key-not-trusted below)', () => {
  const covered = new Set([
    ...CASES.map((entry) => entry.rule),
    'key-not-trusted',
    'identity-multiple-entries',
    'commit-binding-annotation',
  ]);
  assert.deepEqual(
    RULE_IDS.filter((id) => !covered.has(id)),
    [],
  );
});

for (const { rule, object, setup } of CASES) {
  test(`${rule}: kubectl prints the rule id and the fix, exits 1, and nothing is stored`, async () => {
    const ns = await env.namespace('deny');
    await setup?.(ns);
    const manifest = object(ns);
    const result = await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `Error from server \\(Forbidden\\): error when creating "STDIN": admission webhook "validate\\.pinwarden\\.dev" denied the request: pinwarden denied ${manifest.kind}/${ns}/app \\(rule default\\):`,
      ),
    );
    const line = result.stderr.split('\n').find((text) => text.includes(`[${rule}]`));
    assert.ok(line, `no [${rule}] line in:\n${result.stderr}`);
    assert.match(line, /; fix: \S/);
    const get = await env.cp.kubectl([
      'get',
      `${manifest.kind.toLowerCase()}.source.toolkit.fluxcd.io`,
      '-n',
      ns,
      'app',
    ]);
    assert.match(get.stderr, /NotFound/);
  });
}

test('identity-multiple-entries only warns: kubectl prints "Warning:" and the object is stored', async () => {
  const ns = await env.namespace('deny');
  const verify = {
    provider: 'cosign',
    matchOIDCIdentity: [
      { issuer: GITHUB, subject: '^https://github\\.com/acme/a/' },
      { issuer: GITHUB, subject: '^https://github\\.com/acme/b/' },
    ],
  };
  const result = await env.cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify(env.repo({ namespace: ns, verify })),
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /Warning: .*\[identity-multiple-entries[\] ]/);
  assert.equal((await env.stored(ns)).spec.ref.digest, env.digests['1.0.0']);
});

test('key-not-trusted: with trustedKeys in the (reloaded) policy, a tenant key in the Secret is denied', async () => {
  const trusted = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  const tenant = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  const policy = loopbackPolicy(env.registry.host).replace(
    '    allowKeyBased: false\n',
    `    trustedKeys: ${JSON.stringify([trusted])}\n`,
  );
  writeFileSync(join(env.pw.dir, 'policy.yaml'), policy);
  const ns = await env.namespace('deny');
  await env.cp.kubectlOk([
    'create',
    'secret',
    'generic',
    'cosign-pub',
    '-n',
    ns,
    `--from-literal=cosign.pub=${tenant}`,
  ]);
  const manifest = env.repo({ namespace: ns, verify: { provider: 'cosign', secretRef: { name: 'cosign-pub' } } });
  let stderr = '';
  for (let attempt = 0; attempt < 100; attempt++) {
    const result = await env.cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(manifest) });
    stderr = result.stderr;
    if (!stderr.includes('[key-based-not-allowed]')) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.match(stderr, /admission webhook "validate\.pinwarden\.dev" denied the request: /);
  const line = stderr.split('\n').find((text) => text.includes('[key-not-trusted]'));
  assert.ok(line, stderr);
  assert.match(line, /; fix: \S/);
});
