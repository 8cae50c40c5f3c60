import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { credentialsFromDockerConfig, credentialsIdentity } from '../../../src/oci/index.ts';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

test('dockerconfigjson: auth, username/password, identity and registry tokens', () => {
  const config = {
    auths: {
      'ghcr.io': { auth: b64('bot:ghp_secret:with:colons') },
      'https://registry.example.com:5000/v2/': { username: 'u', password: 'p' },
      'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
      'acr.example.io': { username: '00000000-0000-0000-0000-000000000000', identitytoken: 'refresh-me' },
      'token.example.io': { registrytoken: 'ready-bearer' },
      'empty.example.io': {},
    },
  };
  assert.deepEqual(credentialsFromDockerConfig(config, 'ghcr.io'), {
    username: 'bot',
    password: 'ghp_secret:with:colons',
  });
  assert.deepEqual(credentialsFromDockerConfig(JSON.stringify(config), 'Registry.Example.com:5000'), {
    username: 'u',
    password: 'p',
  });
  for (const hub of ['index.docker.io', 'docker.io', 'registry-1.docker.io']) {
    assert.deepEqual(credentialsFromDockerConfig(config, hub), { username: 'hubuser', password: 'hubpass' }, hub);
  }
  assert.deepEqual(credentialsFromDockerConfig(config, 'acr.example.io'), {
    username: '00000000-0000-0000-0000-000000000000',
    identityToken: 'refresh-me',
  });
  assert.deepEqual(credentialsFromDockerConfig(config, 'token.example.io'), { registryToken: 'ready-bearer' });
  assert.equal(credentialsFromDockerConfig(config, 'empty.example.io'), undefined);
  assert.equal(credentialsFromDockerConfig(config, 'other.io'), undefined);
  assert.equal(credentialsFromDockerConfig({}, 'ghcr.io'), undefined);
});

test('a bad document or auth value fails without quoting secrets', () => {
  const isInput = (error: unknown): boolean =>
    error instanceof PinwardenError && error.code === 'PW_INPUT_INVALID' && !error.message.includes('s3cr3t');
  assert.throws(() => credentialsFromDockerConfig('{"auths": s3cr3t', 'r.io'), isInput);
  assert.throws(
    () => credentialsFromDockerConfig({ auths: { 'r.io': { auth: b64('s3cr3t-without-colon') } } }, 'r.io'),
    isInput,
  );
});

test('credentials identity is stable, distinct and does not contain the secret', () => {
  const a = credentialsIdentity({ username: 'u', password: 's3cr3t' });
  assert.equal(a, credentialsIdentity({ username: 'u', password: 's3cr3t' }));
  assert.notEqual(a, credentialsIdentity({ username: 'u', password: 'other' }));
  assert.equal(credentialsIdentity(undefined), 'anonymous');
  assert.equal(credentialsIdentity({}), 'anonymous');
  assert.ok(!a.includes('s3cr3t'));
});
