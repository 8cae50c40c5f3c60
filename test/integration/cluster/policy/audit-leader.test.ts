// Issue #12 limit lifted: the audit runs on one replica only. Two real `pinwarden serve --audit-interval 1s`
// processes on one real kube-apiserver campaign for the `pinwarden-audit` Lease (the kube room's elector, the
// same as the controller's): only the holder runs audit passes and writes PolicyReports; the other serves and
// waits. Killed (SIGKILL, no release), the holder is replaced within the lease duration and the other writes
// the reports from then on; stopped (SIGTERM), a holder releases the Lease.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { startControlPlane } from '../../../support/control-plane.ts';
import type { ControlPlane } from '../../../support/control-plane.ts';
import { startPinwarden } from '../../../support/pinwarden.ts';
import type { Pinwarden } from '../../../support/pinwarden.ts';

const REPORT_CRD = new URL('../../../fixtures/crds/wgpolicyk8s.io_policyreports.yaml', import.meta.url).pathname;
const LEASE_NS = 'pinwarden-system';
const ELECTION = ['--leader-election-namespace', LEASE_NS, '--lease-duration', '4', '--renew-deadline', '3'];

let cp: ControlPlane;
const started: Pinwarden[] = [];

/** An unsigned OCIRepository by digest (the audit finds verify-required; no registry is ever contacted). */
function source(ns: string, name: string): string {
  return JSON.stringify({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name, namespace: ns },
    spec: { interval: '10m', url: 'oci://registry.invalid/acme/app', ref: { digest: `sha256:${'a'.repeat(64)}` } },
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function holder(): Promise<string | undefined> {
  const got = await cp.kubectl(['get', 'lease', '-n', LEASE_NS, 'pinwarden-audit', '-o', 'json']);
  if (got.code !== 0) return undefined;
  return (JSON.parse(got.stdout) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity ?? undefined;
}

async function reportOf(ns: string): Promise<{ results: Array<{ rule: string }> } | undefined> {
  const got = await cp.kubectl(['get', 'policyreports.wgpolicyk8s.io', '-n', ns, 'pinwarden-sources', '-o', 'json']);
  return got.code === 0 ? JSON.parse(got.stdout) : undefined;
}

const passes = (pw: Pinwarden): number => pw.logs().filter((line) => line.includes('"msg":"audit pass"')).length;
const identity = (pw: Pinwarden): string => `${hostname()}_${pw.pid}`;

before(async () => {
  cp = await startControlPlane();
  await cp.kubectlOk(['apply', '--server-side', '-f', REPORT_CRD]);
  await cp.kubectlOk(['wait', '--for=condition=Established', 'crd/policyreports.wgpolicyk8s.io', '--timeout=60s']);
  for (const ns of [LEASE_NS, 'legacy', 'later']) await cp.kubectlOk(['create', 'namespace', ns]);
  await cp.kubectlOk(['apply', '-f', '-'], { input: source('legacy', 'old') });
});
after(async () => {
  await Promise.all(started.map((pw) => pw.stop()));
  await cp?.stop();
});

test('two serve replicas with --audit-interval: only the Lease holder audits; killed, the other takes over; stopped, it releases', async () => {
  const serve = async (): Promise<Pinwarden> => {
    const pw = await startPinwarden({
      kubeconfig: cp.adminKubeconfig,
      extraArgs: ['--audit-interval', '1s', ...ELECTION, '--retry-period', '1'],
    });
    started.push(pw);
    return pw;
  };
  const first = await serve();
  await until('the first holds the audit Lease', async () => (await holder()) === identity(first));
  const second = await serve();
  await until('a report for the source that was there before', async () =>
    (await reportOf('legacy'))?.results.some((result) => result.rule === 'verify-required'),
  );
  // Several passes of the leader while the second runs: the second campaigns, and never audits.
  const base = passes(first);
  await until('three more passes on the leader', async () => passes(first) >= base + 3, 60_000);
  assert.equal(passes(second), 0, 'the replica without the Lease ran no pass');
  assert.equal(await holder(), identity(first));
  assert.match(await first.metrics(), /^pinwarden_audit_leader 1$/m);
  const waiting = await second.metrics();
  assert.match(waiting, /^pinwarden_audit_leader 0$/m);
  assert.doesNotMatch(waiting, /^pinwarden_audit_passes_total\{/m, 'no pass counted on the follower');

  // SIGKILL: no release; the Lease expires (4 s) and the second takes it.
  const killed = Date.now();
  process.kill(first.pid, 'SIGKILL');
  await first.stop();
  await until('the second holds the audit Lease', async () => (await holder()) === identity(second), 30_000);
  const takeoverMs = Date.now() - killed;
  assert.ok(takeoverMs < 4000 + 10_000, `taken over ${takeoverMs} ms after the kill (lease 4 s, retry 1 s)`);
  // A source created after the takeover is reported, so the new leader writes the reports now.
  await cp.kubectlOk(['apply', '-f', '-'], { input: source('later', 'new') });
  await until('the new leader reports the new source', async () => await reportOf('later'), 60_000);
  assert.ok(passes(second) > 0, 'the second ran passes after the takeover');
  assert.match(await second.metrics(), /^pinwarden_audit_leader 1$/m);
  assert.ok(second.logs().some((line) => line.includes('audit leader: this replica runs the audit')));

  // SIGTERM: the pass in flight stops, the Lease is released for the next replica at once.
  await second.stop();
  assert.equal(await holder(), undefined, 'released on a clean stop');
});
