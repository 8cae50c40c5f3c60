/**
 * Failure plumbing: every sigstore-js call goes through `guardSigstore` (malformed input can make it throw
 * plain TypeErrors), and the per-candidate reasons are folded into one PinwardenError whose message and
 * `details.reasons` list them all, so an operator sees why each signature was refused.
 */
import type { ErrorCode } from '../core/errors.ts';
import { PinwardenError, isPinwardenError } from '../core/errors.ts';
import type { FailureReason } from './types.ts';

/** Runs a sigstore-js step; anything it throws becomes PW_SIGNATURE_INVALID naming the sigstore code. */
export function guardSigstore<T>(step: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (isPinwardenError(error)) throw error;
    throw new PinwardenError('PW_SIGNATURE_INVALID', `${step}: ${describeSigstoreError(error)}`, { cause: error });
  }
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
  return `sigstore-js rejected malformed input (${error.name}: ${error.message})`;
}

export function reasonOf(candidate: string, error: unknown): FailureReason {
  if (isPinwardenError(error)) return { candidate, code: error.code, message: error.message };
  return { candidate, code: 'PW_SIGNATURE_INVALID', message: describeSigstoreError(error) };
}

/**
 * The final error when nothing verified. The code is the one every reason shares (e.g. all candidates had the
 * wrong identity → PW_IDENTITY_MISMATCH), else PW_SIGNATURE_INVALID; no reason at all → PW_SIGNATURE_NOT_FOUND;
 * candidates left untried because of the cap → PW_TOO_LARGE.
 */
export function noVerifiedSignature(target: string, reasons: readonly FailureReason[], untried: number): PinwardenError {
  const code = finalCode(reasons, untried);
  const lines = reasons.map((reason) => `${reason.candidate}: ${reason.message} [${reason.code}]`);
  if (untried > 0) lines.push(`${untried} more signature candidate(s) not tried: over the candidate cap`);
  const summary = reasons.length === 0 && untried === 0 ? `no signatures found for ${target}` : `no matching signatures for ${target}`;
  const message = lines.length === 0 ? summary : `${summary}: ${lines.join('; ')}`;
  return new PinwardenError(code, message, { details: { target, reasons: [...reasons], untried } });
}

function finalCode(reasons: readonly FailureReason[], untried: number): ErrorCode {
  if (untried > 0) return 'PW_TOO_LARGE';
  const [first, ...rest] = reasons;
  if (!first) return 'PW_SIGNATURE_NOT_FOUND';
  return rest.every((reason) => reason.code === first.code) ? first.code : 'PW_SIGNATURE_INVALID';
}
