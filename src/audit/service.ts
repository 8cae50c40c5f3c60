/**
 * The audit as a service of `serve --audit-interval`: the cluster target over the Kubernetes API (list the
 * sources of every namespace, server-side apply the reports, remove its own stale ones), the judge (the webhook's
 * own `/validate` flow with the policy and exceptions in force at that moment) and the metrics. With leader
 * election (the default in `serve`), only the replica holding the audit Lease runs passes: the others campaign
 * and take over when it stops or dies.
 */
import type { Registry } from 'prom-client';
import type { Evaluation } from '../core/evaluate.ts';
import type { ExceptionSet } from '../core/exceptions/index.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import type { PrecomputedIdentities } from '../core/rules/index.ts';
import type { AdmissionInput, ValidateResult } from '../flows/index.ts';
import { collectionPath, createLeaderElector, kubeStatusOf, objectPath } from '../kube/index.ts';
import type { KubeApi, KubeObject, LeaseSettings, ResourceType } from '../kube/index.ts';
import { createAuditMetrics, systemClock } from '../runtime/index.ts';
import type { Clock, Logger } from '../runtime/index.ts';
import { startAudit } from './audit.ts';
import type { AuditLoop, AuditMetrics, AuditTarget } from './audit.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, REPORT_NAME } from './report.ts';

export const AUDITED_RESOURCES: readonly ResourceType[] = [
  {
    group: 'source.toolkit.fluxcd.io',
    version: 'v1',
    resource: 'ocirepositories',
    namespaced: true,
    kind: 'OCIRepository',
  },
  { group: 'source.toolkit.fluxcd.io', version: 'v1', resource: 'buckets', namespaced: true, kind: 'Bucket' },
];
export const POLICY_REPORT_RESOURCE: ResourceType = {
  group: 'wgpolicyk8s.io',
  version: 'v1alpha2',
  resource: 'policyreports',
  namespaced: true,
  kind: 'PolicyReport',
};
const FIELD_MANAGER = 'pinwarden-audit';
const PAGE = 500;
/** Sources audited per pass at most (the informer's bound); past it the pass fails with a clear error. */
export const MAX_AUDITED = 100_000;

interface ListResponse {
  metadata?: { continue?: string };
  items?: KubeObject[];
}

/** Lists (paged, with deadlines), applies and deletes through the API; never writes anything but its reports. */
export function kubeAuditTarget(api: KubeApi, timeoutMs = 30_000): AuditTarget {
  const list = async (
    resource: ResourceType,
    query: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<KubeObject[]> => {
    const items: KubeObject[] = [];
    let token: string | undefined;
    do {
      const page = await api.request<ListResponse>({
        method: 'GET',
        path: collectionPath(resource),
        query: { limit: PAGE, continue: token, ...query },
        timeoutMs,
        ...(signal ? { signal } : {}),
      });
      for (const item of page.items ?? [])
        items.push({ ...item, apiVersion: `${resource.group}/${resource.version}`, kind: resource.kind });
      if (items.length > MAX_AUDITED) throw new Error(`more than ${MAX_AUDITED} ${resource.kind} objects`);
      token = page.metadata?.continue || undefined;
    } while (token !== undefined);
    return items;
  };
  return {
    async listSources(signal) {
      const all: KubeObject[] = [];
      for (const resource of AUDITED_RESOURCES) {
        try {
          all.push(...(await list(resource, {}, signal)));
        } catch (error) {
          // A cluster without the Bucket CRD has nothing to audit there.
          if (kubeStatusOf(error) !== 404) throw error;
        }
      }
      return all;
    },
    async listReportNamespaces(signal) {
      const reports = await list(
        POLICY_REPORT_RESOURCE,
        { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` },
        signal,
      );
      return reports
        .filter((report) => report.metadata.name === REPORT_NAME && report.metadata.namespace !== undefined)
        .map((report) => report.metadata.namespace as string);
    },
    async applyReport(report, signal) {
      await api.request({
        method: 'PATCH',
        path: objectPath(POLICY_REPORT_RESOURCE, report.metadata.namespace, report.metadata.name),
        query: { fieldManager: FIELD_MANAGER, force: true },
        contentType: 'application/apply-patch+yaml',
        body: report,
        timeoutMs,
        ...(signal ? { signal } : {}),
      });
    },
    async deleteReport(namespace, signal) {
      try {
        await api.request({
          method: 'DELETE',
          path: objectPath(POLICY_REPORT_RESOURCE, namespace, REPORT_NAME),
          timeoutMs,
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        if (kubeStatusOf(error) !== 404) throw error;
      }
    },
  };
}

/** The audit's Prometheus series, on the process registry (runtime owns prom-client). */
export function auditMetrics(registry: Registry): AuditMetrics {
  return createAuditMetrics(registry);
}

export interface AuditServiceOptions {
  api: KubeApi;
  intervalMs: number;
  logger: Logger;
  registry: Registry;
  policy: () => SourcePolicy;
  exceptions: () => ExceptionSet | undefined;
  validate(input: AdmissionInput, policy: SourcePolicy): ValidateResult | Promise<ValidateResult>;
  /** Decides keyless identities off the event loop before `validate` (the webhook's worker), as `/validate` does. */
  identities?: (
    object: unknown,
    namespace: string | undefined,
    policy: SourcePolicy,
    deadline: number,
  ) => Promise<PrecomputedIdentities> | undefined;
  clock?: Clock;
  /** Deadline per object (ms, default 10 000). */
  objectTimeoutMs?: number;
  /**
   * Run passes only while holding this coordination.k8s.io/v1 Lease (the kube room's elector, the same as the
   * controller's). Absent: this replica audits unconditionally (a single replica, `--no-leader-elect`).
   */
  leaderElection?: LeaseSettings;
}

export interface AuditService {
  /** Whether this replica runs the audit now (holds the Lease, or audits without election). */
  isLeader(): boolean;
  isReady(): boolean;
  /** Stops the pass in flight, then releases the Lease. */
  close(): Promise<void>;
}

export function startAuditService(options: AuditServiceOptions): AuditService {
  const clock = options.clock ?? systemClock;
  const objectTimeoutMs = options.objectTimeoutMs ?? 10_000;
  const judge = async (object: unknown, signal: AbortSignal): Promise<Evaluation> => {
    const exceptions = options.exceptions();
    const policy = options.policy();
    // The webhook shares this event loop: identity containment runs in its worker first, never inline here.
    const identities = await options.identities?.(object, undefined, policy, clock.now() + objectTimeoutMs);
    signal.throwIfAborted();
    const input: AdmissionInput = {
      object,
      remainingMs: objectTimeoutMs,
      ...(exceptions ? { exceptions } : {}),
      ...(identities ? { identities } : {}),
    };
    return (await options.validate(input, policy)).evaluation;
  };
  const metrics = createAuditMetrics(options.registry);
  const begin = (): AuditLoop =>
    startAudit({
      target: kubeAuditTarget(options.api),
      judge,
      now: () => new Date(clock.now()),
      intervalMs: options.intervalMs,
      sleep: (ms, signal) => clock.sleep(ms, signal),
      objectTimeoutMs,
      metrics,
      onPass(outcome, seconds) {
        if ('error' in outcome)
          options.logger.warn({ code: outcome.error.code, seconds }, `audit pass failed: ${outcome.error.message}`);
        else
          options.logger.info(
            { seconds, ...outcome.counts, written: outcome.written, removed: outcome.removed },
            'audit pass',
          );
      },
    });

  const election = options.leaderElection;
  if (election === undefined) {
    const loop = begin();
    metrics.setLeader(true);
    return {
      isLeader: () => true,
      isReady: () => true,
      async close() {
        await loop.stop();
        metrics.setLeader(false);
      },
    };
  }

  // Leadership changes are applied one after the other: a loop is fully stopped before another starts.
  let loop: AuditLoop | undefined;
  let leading = false;
  let closed = false;
  let changes: Promise<void> = Promise.resolve();
  const change = (step: () => Promise<void>): void => {
    changes = changes.then(step).catch((error: unknown) => {
      options.logger.error({ err: (error as Error).message }, 'audit leadership change failed');
    });
  };
  const lease = `${election.namespace}/${election.name}`;
  const elector = createLeaderElector({
    api: options.api,
    ...election,
    onStartedLeading() {
      leading = true;
      metrics.setLeader(true);
      options.logger.info({ identity: election.identity, lease }, 'audit leader: this replica runs the audit');
      change(async () => {
        if (leading && !closed && loop === undefined) loop = begin();
      });
    },
    onStoppedLeading() {
      leading = false;
      metrics.setLeader(false);
      // Unlike the controller, the process keeps serving the webhook: the audit pauses and the elector campaigns on.
      options.logger.warn({ identity: election.identity, lease }, 'audit Lease lost: the audit pauses here');
      change(async () => {
        const running = loop;
        loop = undefined;
        await running?.stop();
      });
    },
    onError: (error) => options.logger.warn({ code: error.code, err: error.message, lease }, 'audit leader election'),
  });
  metrics.setLeader(false);
  elector.start();
  return {
    isLeader: () => leading,
    isReady: () => true,
    async close() {
      // The pass in flight ends first, so nothing is written after the Lease is released.
      closed = true;
      leading = false;
      change(async () => {
        const running = loop;
        loop = undefined;
        await running?.stop();
      });
      await changes;
      await elector.stop();
      await changes;
      metrics.setLeader(false);
    },
  };
}
