// The controller's flags (shared by `controller` and `serve --controller`) parsed by commander and turned into
// startController's settings: the Kustomization reconciler's multi-tenancy lockdown and dependency retry reach
// it, the Lease settings are one function for the controller's Lease and the audit's, and bad values are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addControllerOptions, controllerSettings, leaseSettings } from '../../../src/cli/commands/controller.ts';
import type { ControllerFlags } from '../../../src/cli/commands/controller.ts';

const io = { cwd: '/work', stdout: () => undefined, stderr: () => undefined } as never;

function parse(args: string[]): ControllerFlags {
  const command = addControllerOptions(new Command().exitOverride().configureOutput({ writeErr: () => undefined }));
  command.parse(args, { from: 'user' });
  return command.opts<ControllerFlags>();
}

test('defaults: Flux defaults for the Kustomization reconciler, cross-namespace refs allowed, no default account', () => {
  const settings = controllerSettings(parse([]), io, undefined);
  assert.deepEqual(settings.kustomization, { requeueDependencyMs: 30_000, noCrossNamespaceRefs: false });
  assert.equal(settings.workers, 4);
  assert.deepEqual(settings.storage, { dir: '/tmp/pinwarden-artifacts', maxBytes: 1024 * 1024 * 1024 });
});

test('--requeue-dependency, --no-cross-namespace-refs and --default-service-account reach the Kustomization reconciler', () => {
  const settings = controllerSettings(
    parse(['--requeue-dependency', '1m30s', '--no-cross-namespace-refs', '--default-service-account', 'tenant']),
    io,
    undefined,
  );
  assert.deepEqual(settings.kustomization, {
    requeueDependencyMs: 90_000,
    noCrossNamespaceRefs: true,
    defaultServiceAccount: 'tenant',
  });
});

test('--remote-cluster (repeatable, normalized, port 443 by default) and the insecure kubeconfig flags; none by default', () => {
  assert.deepEqual(controllerSettings(parse([]), io, undefined).remoteClusters, {
    allowedServers: [],
    allowExec: false,
    allowInsecureTls: false,
  });
  const settings = controllerSettings(
    parse([
      '--remote-cluster',
      'API.example.com',
      '--remote-cluster',
      '10.0.0.1:6443',
      '--remote-cluster',
      '[::1]:6443',
      '--remote-cluster',
      'api.example.com:443',
      '--insecure-kubeconfig-exec',
      '--insecure-kubeconfig-tls',
    ]),
    io,
    undefined,
  );
  assert.deepEqual(settings.remoteClusters, {
    allowedServers: ['api.example.com:443', '10.0.0.1:6443', '[::1]:6443'],
    allowExec: true,
    allowInsecureTls: true,
  });
});

test('one Lease settings function: name, namespace and timings from the flags; --no-leader-elect leaves election out', () => {
  const flags = parse([
    '--leader-election-namespace',
    'ops',
    '--lease-duration',
    '20',
    '--renew-deadline',
    '12',
    '--retry-period',
    '3',
  ]);
  const lease = leaseSettings(flags, 'pinwarden-audit');
  assert.equal(lease.name, 'pinwarden-audit');
  assert.equal(lease.namespace, 'ops');
  assert.equal(lease.leaseDurationSeconds, 20);
  assert.equal(lease.renewDeadlineMs, 12_000);
  assert.equal(lease.retryPeriodMs, 3_000);
  assert.match(lease.identity, /_\d+$/);
  assert.equal(controllerSettings(flags, io, undefined).leaderElection?.name, 'pinwarden-controller');
  assert.equal(controllerSettings(parse(['--no-leader-elect']), io, undefined).leaderElection, undefined);
});

test('bad values are refused by the parser with the flag named', () => {
  for (const [args, pattern] of [
    [['--requeue-dependency', 'often'], /--requeue-dependency.*must be a Go duration/],
    [['--requeue-dependency', '2h'], /--requeue-dependency.*at most 60m/],
    [['--default-service-account', 'Not/An_Account'], /--default-service-account.*must be a ServiceAccount name/],
    [['--remote-cluster', 'https://10.0.0.1:6443'], /--remote-cluster.*must be HOST\[:PORT\]/],
    [['--remote-cluster', '10.0.0.1:99999'], /--remote-cluster.*must be HOST\[:PORT\]/],
  ] as const) {
    assert.throws(
      () => parse([...args]),
      (error: Error) => pattern.test(error.message),
      args.join(' '),
    );
  }
});
