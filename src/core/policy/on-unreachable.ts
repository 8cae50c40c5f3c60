/**
 * `registry.onUnreachable: warn`, decided in one place: an error of kind `unavailable` (a registry or the
 * Kubernetes API down, a deadline) is excused — admitted with a warning — when the policy says so. Anything
 * else (an address the policy refuses, a bad signature, an internal error) is never excused by it.
 */
import type { PinwardenError } from '../errors.ts';
import type { SourcePolicy } from './types.ts';

export function excusedAsUnreachable(error: PinwardenError, policy: SourcePolicy | undefined): boolean {
  return error.kind === 'unavailable' && policy?.spec.registry.onUnreachable === 'warn';
}
