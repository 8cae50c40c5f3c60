/**
 * kstatus (sigs.k8s.io/cli-utils `status.Compute`), the health model Flux's `wait` and `healthChecks`
 * use: Terminating, InProgress, Failed, Current — plus NotFound while polling. Pure.
 */
import { isRecord, splitApiVersion } from './objects.ts';
import type { KubeObject } from './objects.ts';

export type HealthStatus = 'InProgress' | 'Failed' | 'Current' | 'Terminating' | 'NotFound' | 'Unknown';

export interface Health {
  status: HealthStatus;
  message: string;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

function conditions(object: KubeObject): Condition[] {
  const status = object.status;
  if (!isRecord(status) || !Array.isArray(status.conditions)) return [];
  return status.conditions.filter(
    (item): item is Condition => isRecord(item) && typeof item.type === 'string' && typeof item.status === 'string',
  );
}

function condition(object: KubeObject, type: string): Condition | undefined {
  return conditions(object).find((item) => item.type === type);
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function statusField(object: KubeObject, key: string): unknown {
  return isRecord(object.status) ? object.status[key] : undefined;
}

function specField(object: KubeObject, key: string): unknown {
  return isRecord(object.spec) ? object.spec[key] : undefined;
}

const current = (message = 'Resource is current'): Health => ({ status: 'Current', message });
const inProgress = (message: string): Health => ({ status: 'InProgress', message });
const failed = (message: string): Health => ({ status: 'Failed', message });

export function computeHealth(object: KubeObject): Health {
  if (object.metadata.deletionTimestamp !== undefined)
    return { status: 'Terminating', message: 'Resource scheduled for deletion' };
  const observed = statusField(object, 'observedGeneration');
  if (
    typeof observed === 'number' &&
    typeof object.metadata.generation === 'number' &&
    observed !== object.metadata.generation
  ) {
    return inProgress(
      `${object.kind} generation is ${object.metadata.generation}, but latest observed generation is ${observed}`,
    );
  }
  const reconciling = condition(object, 'Reconciling');
  if (reconciling?.status === 'True') return inProgress(reconciling.message ?? 'Reconciling');
  const stalled = condition(object, 'Stalled');
  if (stalled?.status === 'True') return failed(stalled.message ?? 'Stalled');
  const builtin = builtinHealth(object);
  if (builtin !== undefined) return builtin;
  const ready = condition(object, 'Ready');
  if (ready !== undefined) {
    if (ready.status === 'True') return current(ready.message ?? 'Resource is Ready');
    return inProgress(ready.message ?? `Ready is ${ready.status}`);
  }
  return current();
}

function replicasHealth(object: KubeObject, ready: string): Health | undefined {
  const want = num(specField(object, 'replicas'), 1);
  const have = num(statusField(object, 'replicas'), 0);
  const readyCount = num(statusField(object, ready), 0);
  const updated = num(statusField(object, 'updatedReplicas'), 0);
  if (statusField(object, 'observedGeneration') === undefined)
    return inProgress(`${object.kind} has not been observed by its controller yet`);
  if (want > updated) return inProgress(`Updated: ${updated}/${want}`);
  if (have > want) return inProgress(`Pending termination: ${have - want}`);
  if (want > readyCount) return inProgress(`Ready: ${readyCount}/${want}`);
  return undefined;
}

function builtinHealth(object: KubeObject): Health | undefined {
  const { group } = splitApiVersion(object.apiVersion);
  const key = `${group}/${object.kind}`;
  switch (key) {
    case 'apiextensions.k8s.io/CustomResourceDefinition': {
      const names = condition(object, 'NamesAccepted');
      if (names?.status === 'False') return failed(names.message ?? 'Names not accepted');
      const established = condition(object, 'Established');
      if (established?.status === 'True') return current('CRD is established');
      if (established?.status === 'False' && established.reason !== 'Installing')
        return failed(established.message ?? 'CRD is not established');
      return inProgress('Install in progress');
    }
    case 'apps/Deployment': {
      const progressing = condition(object, 'Progressing');
      if (progressing?.reason === 'ProgressDeadlineExceeded')
        return failed(progressing.message ?? 'Progress deadline exceeded');
      const pending = replicasHealth(object, 'availableReplicas');
      if (pending !== undefined) return pending;
      const available = condition(object, 'Available');
      if (available?.status !== 'True') return inProgress('Deployment not Available');
      return current('Deployment is available. Replicas: ' + String(num(statusField(object, 'replicas'), 0)));
    }
    case 'apps/StatefulSet':
    case 'apps/ReplicaSet':
      return replicasHealth(object, 'readyReplicas') ?? current(`${object.kind} is ready`);
    case 'apps/DaemonSet': {
      if (statusField(object, 'observedGeneration') === undefined)
        return inProgress('DaemonSet has not been observed by its controller yet');
      const desired = num(statusField(object, 'desiredNumberScheduled'), 0);
      const readyCount = num(statusField(object, 'numberAvailable'), 0);
      if (desired > readyCount) return inProgress(`Available: ${readyCount}/${desired}`);
      return current('All replicas scheduled as expected');
    }
    case '/Pod': {
      const phase = statusField(object, 'phase');
      if (phase === 'Succeeded') return current('Pod has completed successfully');
      if (phase === 'Failed') return failed('Pod has completed, but not successfully');
      if (phase === 'Running' && condition(object, 'Ready')?.status === 'True') return current('Pod is Ready');
      return inProgress(`Pod phase is ${typeof phase === 'string' ? phase : 'unknown'}`);
    }
    case '/PersistentVolumeClaim':
      return statusField(object, 'phase') === 'Bound' ? current('PVC is Bound') : inProgress('PVC is not Bound');
    case '/Service': {
      if (specField(object, 'type') === 'LoadBalancer' && typeof specField(object, 'clusterIP') !== 'string')
        return inProgress('ClusterIP not set');
      return current('Service is ready');
    }
    case 'batch/Job': {
      const complete = condition(object, 'Complete');
      if (complete?.status === 'True') return current('Job Completed');
      const fail = condition(object, 'Failed');
      if (fail?.status === 'True') return failed(fail.message ?? 'Job Failed');
      return inProgress('Job in progress');
    }
    case 'policy/PodDisruptionBudget': {
      if (statusField(object, 'observedGeneration') === undefined)
        return inProgress('PDB has not been observed by its controller yet');
      const healthy = num(statusField(object, 'currentHealthy'), 0);
      const desired = num(statusField(object, 'desiredHealthy'), 0);
      return healthy < desired ? inProgress(`Budget not met: ${healthy}/${desired}`) : current('Budget is met');
    }
    case '/ConfigMap':
    case '/Secret':
    case 'batch/CronJob':
      return current();
    default:
      return undefined;
  }
}
