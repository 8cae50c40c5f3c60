/**
 * POST /validate: the policy rules (the same `evaluate` as `check`). Deny lists every violation; warn mode
 * admits with one warning per finding. Fail-closed: an internal error is an errored review (500, uid kept).
 */
import { briefCause } from '../../core/brief-cause.ts';
import { toPinwardenError } from '../../core/errors.ts';
import { excusedAsUnreachable } from '../../core/policy/index.ts';
import type { SourcePolicy } from '../../core/policy/index.ts';
import type { ValidateResult } from '../../flows/index.ts';
import { allowed, denied, errored } from '../review.ts';
import type { AdmissionRequest } from '../review.ts';
import { denialMessage, warningLine } from '../warnings.ts';
import type { Answer, RouteHandler } from './answer.ts';
import { isOutOfScope, objectKind } from './answer.ts';

export const answerValidate: RouteHandler = (request, env) => {
  const kind = objectKind(request.object);
  if (isOutOfScope(request)) return { response: allowed(request.uid), verdict: 'allow', ...(kind ? { kind } : {}) };
  const result = env.flows.validate(
    {
      object: request.object,
      ...(request.oldObject !== undefined ? { oldObject: request.oldObject } : {}),
      ...(request.namespace ? { namespace: request.namespace } : {}),
      remainingMs: env.remainingMs,
      ...(env.identities ? { identities: env.identities } : {}),
      ...(env.exceptions ? { exceptions: env.exceptions } : {}),
    },
    env.policy,
  );
  return result instanceof Promise
    ? result.then((settled) => validateAnswer(request, kind, settled))
    : validateAnswer(request, kind, result);
};

function validateAnswer(
  request: AdmissionRequest,
  kind: string | undefined,
  { evaluation, pinFailure }: ValidateResult,
): Answer {
  const warnings: string[] = [];
  const ruleIds: string[] = [];
  for (const finding of evaluation.findings) {
    ruleIds.push(finding.ruleId);
    if (finding.severity === 'warning') warnings.push(warningLine(finding));
  }
  // A waiver is never silent: the cause first (warnings are cut at 120 characters).
  for (const waived of evaluation.waived ?? [])
    warnings.push(`waived until ${waived.expires} by SourcePolicyException ${waived.exception} [${waived.ruleId}]`);
  const base = {
    verdict: evaluation.verdict,
    ...(kind ? { kind } : {}),
    ruleIds,
    ...(pinFailure ? { code: pinFailure.code } : {}),
    ...(evaluation.rule ? { policyRule: evaluation.rule.name } : {}),
  };
  if (evaluation.verdict !== 'deny') return { ...base, response: allowed(request.uid, warnings) };
  const { kind: objectType, namespace, name } = evaluation.object;
  // Kubernetes names are at most 253 characters: a longer one is not echoed whole.
  const decided = evaluation.rule ? ` (rule ${evaluation.rule.name})` : '';
  const label = `${cutName(`${objectType}/${namespace ? `${namespace}/` : ''}${name}`)}${decided}`;
  return { ...base, response: denied(request.uid, denialMessage(label, evaluation.findings), warnings) };
}

export function validateFailure(request: AdmissionRequest, error: unknown, policy: SourcePolicy | undefined): Answer {
  const failure = toPinwardenError(error);
  // A deadline is "registry unavailable" for the policy: onUnreachable: warn admits with a warning.
  if (excusedAsUnreachable(failure, policy)) {
    return {
      response: allowed(request.uid, [`pinwarden: not validated (${failure.code}): ${briefCause(failure.message)}`]),
      verdict: 'warn',
      code: failure.code,
    };
  }
  return {
    response: errored(request.uid, failure.status, `pinwarden could not decide (${failure.code}): ${failure.message}`),
    verdict: 'error',
    code: failure.code,
  };
}

function cutName(label: string): string {
  return label.length > 300 ? `${label.slice(0, 300)}…` : label;
}
