/** POST /mutate: pin the tag to a digest. Fail-open: whatever goes wrong, the object is allowed unchanged. */
import { briefCause } from '../../core/brief-cause.ts';
import { toPinwardenError } from '../../core/errors.ts';
import type { PinPlan } from '../../core/mutation/index.ts';
import { allowed, patched } from '../review.ts';
import type { AdmissionRequest } from '../review.ts';
import type { Answer, RouteHandler } from './answer.ts';
import { isOutOfScope, objectKind } from './answer.ts';

export const answerMutate: RouteHandler = (request, env) => {
  const kind = objectKind(request.object);
  if (isOutOfScope(request)) return { response: allowed(request.uid), verdict: 'unchanged', ...(kind ? { kind } : {}) };
  const plan = env.flows.mutate(
    {
      object: request.object,
      ...(request.oldObject !== undefined ? { oldObject: request.oldObject } : {}),
      ...(request.namespace ? { namespace: request.namespace } : {}),
      remainingMs: env.remainingMs,
    },
    env.policy,
  );
  return plan instanceof Promise
    ? plan.then((settled) => mutateAnswer(request, kind, settled))
    : mutateAnswer(request, kind, plan);
};

function mutateAnswer(request: AdmissionRequest, kind: string | undefined, plan: PinPlan): Answer {
  const verdict = plan.patch.length > 0 ? 'patched' : 'unchanged';
  return {
    response: patched(request.uid, plan.patch, plan.warnings),
    verdict,
    ...(kind ? { kind } : {}),
    ...(plan.failure ? { code: plan.failure.code } : {}),
  };
}

export function mutateFailure(request: AdmissionRequest, error: unknown): Answer {
  const failure = toPinwardenError(error);
  const warning = `pinwarden: object not pinned, the webhook failed (${failure.code}): ${briefCause(failure.message)}`;
  return { response: allowed(request.uid, [warning]), verdict: 'error', code: failure.code };
}
