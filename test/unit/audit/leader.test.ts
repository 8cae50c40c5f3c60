// The audit service and its Lease, without a cluster (an in-memory KubeApi): a replica that cannot take the
// audit Lease (held and renewed by another) lists nothing and writes nothing; once the Lease is free it takes
// it and audits; without leader election it audits at once. On a real apiserver with two processes:
// test/integration/cluster/policy/audit-leader.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startAuditService } from '../../../src/audit/index.ts';
import { defaultPolicy } from '../../../src/core/policy/index.ts';
import { evaluate } from '../../../src/core/evaluate.ts';
import type { KubeApi, KubeRequest } from '../../../src/kube/index.ts';
import { createLogger, createMetricsRegistry } from '../../../src/runtime/index.ts';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion: string };
  spec: { holderIdentity?: string | null; leaseDurationSeconds?: number; renewTime?: string };
}

/** Lists of sources are counted; the Lease is held by `other` (renewed on every read) while `held` is true. */
function memoryApi(): KubeApi & { sourceLists: number; held: boolean; lease: Lease } {
  const api = {
    server: 'https://memory.invalid',
    sourceLists: 0,
    held: true,
    lease: {
      metadata: { name: 'pinwarden-audit', namespace: 'system', resourceVersion: '1' },
      spec: { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: new Date().toISOString() },
    } as Lease,
    async request<T>(request: KubeRequest): Promise<T> {
      if (request.path.includes('/leases/')) {
        if (request.method === 'GET') {
          // The other holder renews: a new renewTime on every read keeps the Lease fresh as observed here.
          if (api.held)
            api.lease.spec = { ...api.lease.spec, holderIdentity: 'other', renewTime: new Date().toISOString() };
          else if (api.lease.spec.holderIdentity === 'other')
            api.lease.spec = { ...api.lease.spec, holderIdentity: null };
          return structuredClone(api.lease) as T;
        }
        if (request.method === 'PUT') {
          const body = request.body as Lease;
          api.lease = {
            ...body,
            metadata: { ...body.metadata, resourceVersion: String(Number(api.lease.metadata.resourceVersion) + 1) },
          };
          return structuredClone(api.lease) as T;
        }
      }
      if (request.method === 'GET' && /ocirepositories|buckets/.test(request.path)) api.sourceLists++;
      return { metadata: {}, items: [] } as T;
    },
    async watch() {},
  };
  return api;
}

const quiet = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
const until = async (what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

function service(api: KubeApi, election: boolean) {
  return startAuditService({
    api,
    intervalMs: 50,
    logger: quiet,
    registry: createMetricsRegistry(),
    policy: () => defaultPolicy(),
    exceptions: () => undefined,
    validate: (input, policy) => ({ evaluation: evaluate(input.object, policy, { phase: 'admission' }) }),
    ...(election
      ? {
          leaderElection: {
            namespace: 'system',
            name: 'pinwarden-audit',
            identity: 'me',
            leaseDurationSeconds: 15,
            retryPeriodMs: 20,
          },
        }
      : {}),
  });
}

test('a replica without the audit Lease never audits; when the Lease is released it takes it and audits; close releases it', async () => {
  const api = memoryApi();
  const audit = service(api, true);
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(audit.isLeader(), false);
    assert.equal(api.sourceLists, 0, 'no pass while another replica holds the Lease');
    api.held = false;
    await until('this replica audits', () => api.sourceLists > 0);
    assert.equal(audit.isLeader(), true);
    assert.equal(api.lease.spec.holderIdentity, 'me');
  } finally {
    await audit.close();
  }
  const after = api.sourceLists;
  assert.equal(api.lease.spec.holderIdentity, null, 'released on close');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(api.sourceLists, after, 'no pass after close');
});

test('without leader election (--no-leader-elect) the audit runs at once and reads no Lease', async () => {
  const api = memoryApi();
  const audit = service(api, false);
  try {
    await until('a pass', () => api.sourceLists > 0);
    assert.equal(audit.isLeader(), true);
    assert.equal(api.lease.metadata.resourceVersion, '1', 'the Lease was not touched');
  } finally {
    await audit.close();
  }
});
