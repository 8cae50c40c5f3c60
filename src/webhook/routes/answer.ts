/** What a route hands back to the server: the review response plus the verdict label for logs and metrics. */
import type { ErrorCode } from '../../core/errors.ts';
import type { Verdict } from '../../core/findings.ts';
import type { SourcePolicy } from '../../core/policy/index.ts';
import type { ExceptionSet } from '../../core/exceptions/index.ts';
import type { PrecomputedIdentities } from '../../core/rules/index.ts';
import type { AdmissionFlows } from '../deps.ts';
import type { AdmissionRequest, AdmissionResponse } from '../review.ts';

/** validate: the rules' verdict, or error (fail-closed); mutate: patched | unchanged | error (fail-open). */
export type AnswerVerdict = Verdict | 'error' | 'patched' | 'unchanged';
/** The metric label: an answer's verdict, or a request refused before a review (busy, invalid envelope). */
export type ReviewLabel = AnswerVerdict | 'busy' | 'invalid';

export interface Answer {
  response: AdmissionResponse;
  verdict: AnswerVerdict;
  kind?: string;
  ruleIds?: string[];
  code?: ErrorCode;
  /** validate: the policy rule that decided (spec.rules[].name, or default). */
  policyRule?: string;
}

export interface RouteEnv {
  policy: SourcePolicy;
  flows: AdmissionFlows;
  /** Time the flow may still spend (ms), already short of the apiserver's timeout. */
  remainingMs: number;
  /** `/validate`: identity decisions made in the worker (see identity-offload.ts). */
  identities?: PrecomputedIdentities;
  /** `/validate`: the SourcePolicyExceptions in force (`--policy-source=cluster`), judged by now. */
  exceptions?: ExceptionSet;
}

/** Returns the answer directly when no I/O was needed (see server.ts answerInTime). */
export type RouteHandler = (request: AdmissionRequest, env: RouteEnv) => Answer | Promise<Answer>;

/** Requests pinwarden has nothing to say about: status and other subresources, DELETE, CONNECT. */
export function isOutOfScope(request: AdmissionRequest): boolean {
  return (
    request.subResource !== undefined ||
    (request.operation !== 'CREATE' && request.operation !== 'UPDATE' && request.operation !== '')
  );
}

export function objectKind(object: unknown): string | undefined {
  const kind = (object as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' ? kind : undefined;
}
