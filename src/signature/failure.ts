/**
 * Failure plumbing: every sigstore-js call goes through `guardSigstore` (malformed input can make it throw
 * plain TypeErrors), and the per-candidate reasons are folded into one PinwardenError whose message and
 * `details.reasons` list them all, so an operator sees why each signature was refused.
 */
import type { ErrorCode, SignatureReason } from '../core/errors.ts';
import { PinwardenError, isPinwardenError, isSignatureReason } from '../core/errors.ts';
import type { FailureReason } from './types.ts';

/** A signature failure: its stable PW code (default PW_SIGNATURE_INVALID) and the reason sub-code under it. */
export function signatureError(
  subCode: SignatureReason,
  message: string,
  code: ErrorCode = 'PW_SIGNATURE_INVALID',
  cause?: unknown,
): PinwardenError {
  return new PinwardenError(code, message, { subCode, ...(cause !== undefined ? { cause } : {}) });
}

/** Runs a sigstore-js step; anything it throws becomes PW_SIGNATURE_INVALID with sigstore's code as sub-code. */
export function guardSigstore<T>(step: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (isPinwardenError(error)) throw error;
    throw signatureError(
      sigstoreReason(error),
      `${step}: ${describeSigstoreError(error)}`,
      'PW_SIGNATURE_INVALID',
      error,
    );
  }
}

/** sigstore-js's own code (VerificationError, PolicyError); a bundle ValidationError; anything else is malformed input. */
export function sigstoreReason(error: unknown): SignatureReason {
  const code = (error as { code?: unknown } | null)?.code;
  if (isSignatureReason(code)) return code;
  if (Array.isArray((error as { fields?: unknown } | null)?.fields)) return 'BUNDLE_ERROR';
  return 'MALFORMED_INPUT_ERROR';
}

/** `sigstore CERTIFICATE_ERROR: Failed to verify certificate chain (certificate is not valid …)`. */
export function describeSigstoreError(error: unknown): string {
  if (!(error instanceof Error)) return `sigstore-js threw ${String(error)}`;
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: unknown }).cause;
  const because = cause instanceof Error && cause.message !== error.message ? ` (${cause.message})` : '';
  if (typeof code === 'string') return `sigstore ${code}: ${error.message}${because}`;
  const fields = (error as { fields?: unknown }).fields;
  if (Array.isArray(fields)) {
    return `sigstore ValidationError: ${error.message} (fields: ${fields.map(String).join(', ')})`;
  }
  // A plain TypeError from deep inside a library: its type only, never its message.
  return `sigstore-js rejected malformed input (${error.name})`;
}

export function reasonOf(candidate: string, error: unknown): FailureReason {
  if (isPinwardenError(error))
    return {
      candidate,
      code: error.code,
      message: error.message,
      ...(error.subCode ? { subCode: error.subCode } : {}),
    };
  return {
    candidate,
    code: 'PW_SIGNATURE_INVALID',
    subCode: sigstoreReason(error),
    message: describeSigstoreError(error),
  };
}

/**
 * The final error when nothing verified. The code is the one every reason shares (e.g. all candidates had the
 * wrong identity → PW_IDENTITY_MISMATCH), else PW_SIGNATURE_INVALID; no reason at all → PW_SIGNATURE_NOT_FOUND;
 * candidates left untried because of the cap → PW_TOO_LARGE.
 */
export function noVerifiedSignature(
  target: string,
  reasons: readonly FailureReason[],
  untried: number,
): PinwardenError {
  const code = finalCode(reasons, untried);
  const lines = reasons.map((reason) => `${reason.candidate}: ${reason.message} [${reason.code}]`);
  if (untried > 0) lines.push(`${untried} more signature candidate(s) not tried: over the candidate cap`);
  const summary =
    reasons.length === 0 && untried === 0
      ? `no signatures found for ${target}`
      : `no matching signatures for ${target}`;
  const message = lines.length === 0 ? summary : `${summary}: ${lines.join('; ')}`;
  const subCode = sharedSubCode(reasons, untried);
  return new PinwardenError(code, message, {
    details: { target, reasons: [...reasons], untried },
    ...(subCode ? { subCode } : {}),
  });
}

/** The sub-code every reason shares (one candidate, or all failing alike), else none. */
function sharedSubCode(reasons: readonly FailureReason[], untried: number): SignatureReason | undefined {
  const [first, ...rest] = reasons;
  if (untried > 0 || first?.subCode === undefined) return undefined;
  return rest.every((reason) => reason.subCode === first.subCode && reason.code === first.code)
    ? first.subCode
    : 'MIXED_ERROR';
}

function finalCode(reasons: readonly FailureReason[], untried: number): ErrorCode {
  if (untried > 0) return 'PW_TOO_LARGE';
  const [first, ...rest] = reasons;
  if (!first) return 'PW_SIGNATURE_NOT_FOUND';
  return rest.every((reason) => reason.code === first.code) ? first.code : 'PW_SIGNATURE_INVALID';
}
