// scripts/cluster.ts: the policy given to `npm run cluster -- --webhook` is used as written, plus the local
// registry (only where the policy restricts registries) and loopback in registry.allowNetworks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { localPolicy, parseArgs } from '../../../scripts/cluster.ts';
import { REPO_ROOT } from '../../helpers/cli.ts';

test('the example policy gains the local registry and loopback, and keeps everything else', () => {
  const original = parse(readFileSync(join(REPO_ROOT, 'examples', 'policy.yaml'), 'utf8'));
  const local = parse(localPolicy(readFileSync(join(REPO_ROOT, 'examples', 'policy.yaml'), 'utf8'), '127.0.0.1:5000'));
  assert.deepEqual(local.spec.ociRepository.allowedRegistries, [
    ...original.spec.ociRepository.allowedRegistries,
    'oci://127.0.0.1:5000/',
  ]);
  assert.deepEqual(local.spec.registry.allowNetworks, ['127.0.0.0/8', '::1/128']);
  assert.deepEqual(local.spec.ociRepository.allowedIdentities, original.spec.ociRepository.allowedIdentities);
  assert.equal(local.spec.mode, original.spec.mode);
});

test('a policy that allows any registry stays unrestricted; existing allowNetworks are kept', () => {
  const yaml =
    'apiVersion: pinwarden.dev/v1alpha1\nkind: SourcePolicy\nmetadata: {name: x}\nspec:\n  registry:\n    allowNetworks: ["10.1.0.0/16"]\n';
  const local = parse(localPolicy(yaml, '127.0.0.1:5000'));
  assert.equal(local.spec.ociRepository, undefined);
  assert.deepEqual(local.spec.registry.allowNetworks, ['10.1.0.0/16', '127.0.0.0/8', '::1/128']);
});

test('--no-flux-crds and --registry are parsed; the default installs Flux CRDs and starts no registry', () => {
  assert.deepEqual(parseArgs([]), { webhook: false, config: 'examples/policy.yaml', fluxCrds: true, registry: false });
  assert.deepEqual(parseArgs(['--no-flux-crds', '--registry']), {
    webhook: false,
    config: 'examples/policy.yaml',
    fluxCrds: false,
    registry: true,
  });
});
