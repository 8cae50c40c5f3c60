/**
 * Policy in the cluster, as data: SourcePolicy objects combine into the one policy in force (combine.ts), a
 * change is taken only when the result is valid (policies.ts), SourcePolicyException objects become the
 * exceptions `/validate` applies (exceptions.ts). Each call also says what to write to each object's status.
 * Pure: the watching, status writes and Events live in the adapters (src/kube, the serve wiring).
 */
export { combinationOrder, combinePolicies, describePolicy, ignoredFields, priorityOf } from './combine.ts';
export type { Combination, PolicyContribution } from './combine.ts';
export { EMPTY_POLICY_SET, MAX_POLICIES, reconcilePolicies } from './policies.ts';
export type { PolicySetMemory, PolicySetResult } from './policies.ts';
export { EMPTY_EXCEPTION_SET, MAX_EXCEPTIONS, reconcileExceptions } from './exceptions.ts';
export type { ExceptionSetMemory, ExceptionSetResult } from './exceptions.ts';
export { boundedMessage, MAX_MESSAGE, sameReport } from './report.ts';
export type { ObjectCondition, ObjectReport } from './report.ts';
