/** What `buildServer` needs, injected so tests swap any part (a throwing flow, a fake clock, a memory policy). */
import type { Logger } from '../runtime/index.ts';
import type { PinPlan } from '../core/mutation/index.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import { mutateObject, validateObject } from '../flows/index.ts';
import type { AdmissionInput, AdmitDeps, ValidateResult } from '../flows/index.ts';
import type { ConnectionLimits } from './connection-limits.ts';
import type { IdentityOffload } from './identity-offload.ts';
import type { WebhookMetrics } from './metrics.ts';
import type { Clock, PolicySource, ServingMaterial } from '../runtime/index.ts';

export interface AdmissionFlows {
  /** Synchronous when no registry call is needed. */
  mutate(input: AdmissionInput, policy: SourcePolicy): PinPlan | Promise<PinPlan>;
  /** Synchronous when no registry call is needed. */
  validate(input: AdmissionInput, policy: SourcePolicy): ValidateResult | Promise<ValidateResult>;
}

export interface WebhookDeps {
  policy: PolicySource;
  flows: AdmissionFlows;
  logger: Logger;
  metrics: WebhookMetrics;
  /** Drives deadlines, the watchdog and durations (default: the system clock). */
  clock?: Clock;
  /** PEM pair (and client CA): served over HTTPS (TLS >= 1.2); absent: plain HTTP (inject() tests). */
  https?: ServingMaterial;
  /** Connection, time and body bounds (defaults: connection-limits.ts DEFAULT_LIMITS). */
  limits?: Partial<ConnectionLimits>;
  /** Decides keyless identities in a worker before `/validate` runs the rules; absent: inline (tests). */
  identityOffload?: IdentityOffload;
  /** Used when the apiserver sends no `?timeout=` (its own default is 10 s). */
  defaultTimeoutMs?: number;
}

export function admissionFlows(deps: AdmitDeps): AdmissionFlows {
  return {
    mutate: (input, policy) => mutateObject(input, policy, deps),
    validate: (input, policy) => validateObject(input, policy, deps),
  };
}
