/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: a candidate
 * takes the Lease when it is free, released, or not renewed within `leaseDurationSeconds` as observed on
 * this candidate's own clock (no clock comparison across machines); the leader renews every `retryPeriod`
 * and gives up leadership when it could not renew for `renewDeadline`. Writes use the Lease's
 * resourceVersion, so two candidates can never both win. `release()` clears the holder so a successor
 * does not wait out the lease.
 *
 * In the kube room so that every room needing one leader may use it: the controller's manager (the reconcilers)
 * and the audit (one replica writes the PolicyReports).
 */
import { PinwardenError, toPinwardenError } from '../core/errors.ts';
import { pause } from '../runtime/index.ts';
import { kubeStatusOf } from './api.ts';
import type { KubeApi } from './api.ts';
import { RESOURCES, collectionPath, objectPath } from './resource.ts';

/** Which Lease a replica campaigns for, and its timing: one shape for the CLI, the controller and the audit. */
export interface LeaseSettings {
  namespace: string;
  name: string;
  identity: string;
  /** Seconds a non-renewed lease blocks others (default 15). */
  leaseDurationSeconds?: number;
  /** Ms the leader keeps trying to renew before it steps down (default 10 000). */
  renewDeadlineMs?: number;
  /** Ms between attempts (default 2 000). */
  retryPeriodMs?: number;
}

export interface LeaderElectionOptions extends LeaseSettings {
  api: KubeApi;
  onStartedLeading: () => void;
  /** Leadership lost (renew failed past the deadline, or another holder took the Lease). */
  onStoppedLeading: () => void;
  onError?: (error: PinwardenError) => void;
  now?: () => number;
}

export interface LeaderElector {
  start(): void;
  isLeader(): boolean;
  /** Stops campaigning; a leader releases the Lease (best effort, with a deadline). */
  stop(): Promise<void>;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

interface Lease {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export function createLeaderElector(options: LeaderElectionOptions): LeaderElector {
  const duration = options.leaseDurationSeconds ?? 15;
  const renewDeadline = options.renewDeadlineMs ?? 10_000;
  const retryPeriod = options.retryPeriodMs ?? 2_000;
  const now = options.now ?? Date.now;
  const path = objectPath(RESOURCES.lease, options.namespace, options.name);
  const stopper = new AbortController();
  let leading = false;
  let lastRenew = 0;
  // What this candidate last saw in the Lease, and when it saw it change (client-go's observedTime).
  let observed: { key: string; at: number } | undefined;
  let loop: Promise<void> | undefined;
  let lease: Lease | undefined;

  // Lease times are MicroTime: RFC 3339 with six fractional digits.
  const micro = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const at = now();
    let current: Lease | undefined;
    try {
      current = await options.api.request<Lease>({
        method: 'GET',
        path,
        timeoutMs: retryPeriod * 2,
        signal: stopper.signal,
      });
    } catch (error) {
      if (kubeStatusOf(error) !== 404) throw error;
    }
    const mine: LeaseSpec = { holderIdentity: options.identity, leaseDurationSeconds: duration, renewTime: micro(at) };
    if (!current) {
      lease = await options.api.request<Lease>({
        method: 'POST',
        path: collectionPath(RESOURCES.lease, options.namespace),
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: options.name, namespace: options.namespace },
          spec: { ...mine, acquireTime: micro(at), leaseTransitions: 0 },
        },
        timeoutMs: retryPeriod * 2,
        signal: stopper.signal,
      });
      observed = { key: JSON.stringify(lease.spec), at };
      return true;
    }
    const spec = current.spec ?? {};
    const key = JSON.stringify(spec);
    if (!observed || observed.key !== key) observed = { key, at };
    const holder = spec.holderIdentity ?? '';
    const held =
      holder !== '' && holder !== options.identity && observed.at + (spec.leaseDurationSeconds ?? duration) * 1000 > at;
    if (held) return false;
    const transitions = spec.leaseTransitions ?? 0;
    const next: LeaseSpec =
      holder === options.identity
        ? { ...spec, ...mine }
        : { ...mine, acquireTime: micro(at), leaseTransitions: transitions + 1 };
    lease = await options.api.request<Lease>({
      method: 'PUT',
      path,
      body: { ...current, spec: next },
      timeoutMs: retryPeriod * 2,
      signal: stopper.signal,
    });
    observed = { key: JSON.stringify(lease.spec), at };
    return true;
  };

  const run = async (): Promise<void> => {
    while (!stopper.signal.aborted) {
      let won: boolean | undefined;
      try {
        won = await tryAcquireOrRenew();
      } catch (error) {
        if (stopper.signal.aborted) break;
        // 409: someone else wrote the Lease between our read and write; not an error worth logging.
        if (kubeStatusOf(error) !== 409) options.onError?.(toPinwardenError(error));
      }
      const at = now();
      if (won) {
        lastRenew = at;
        if (!leading) {
          leading = true;
          options.onStartedLeading();
        }
      } else if (leading && (won === false || at - lastRenew >= renewDeadline)) {
        // Another holder has the Lease, or renewing failed for longer than the renew deadline.
        leading = false;
        options.onStoppedLeading();
      }
      await pause(leading ? retryPeriod : retryPeriod * (1 + Math.random() * 0.2), stopper.signal);
    }
  };

  return {
    start() {
      loop ??= run();
    },
    isLeader: () => leading,
    async stop() {
      stopper.abort(new Error('leader election stopped'));
      await loop;
      if (!leading) return;
      leading = false;
      try {
        const current = await options.api.request<Lease>({ method: 'GET', path, timeoutMs: 3000 });
        if (current.spec?.holderIdentity !== options.identity) return;
        await options.api.request({
          method: 'PUT',
          path,
          body: {
            ...current,
            spec: { ...current.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: micro(now()) },
          },
          timeoutMs: 3000,
        });
      } catch (error) {
        options.onError?.(toPinwardenError(error));
      }
    },
  };
}

export { PinwardenError };
