/**
 * The identity worker's thread: compiles one object's matchOIDCIdentity patterns and decides the containment
 * of the valid entries under the same budgets as the rules (`decideIdentities`), so the webhook's event loop
 * never compiles a tenant's pattern or runs an automaton. Jobs
 * arrive in order; one whose deadline has passed while it waited is skipped (its review is already answered).
 */
import { parentPort } from 'node:worker_threads';
import { goRegexSyntaxError } from '../core/go-regex.ts';
import { decideIdentities } from '../core/rules/index.ts';
import type { IdentityEntry } from '../core/rules/index.ts';
import type { AllowedIdentity } from '../core/policy/index.ts';

export interface IdentityJob {
  id: number;
  entries: IdentityEntry[];
  allowed: AllowedIdentity[];
  /** Date.now() past which nobody waits for the answer. */
  deadline: number;
}

parentPort?.on('message', (job: IdentityJob) => {
  if (Date.now() >= job.deadline) {
    parentPort?.postMessage({ id: job.id, results: [], skipped: true });
    return;
  }
  try {
    // Compiling happens here too: the main thread learns each pattern's syntax verdict instead of compiling it.
    const syntax: Array<[string, string | null]> = [];
    const valid = job.entries.filter((entry) => {
      const errors = [entry.issuer, entry.subject].map((pattern) => {
        const error = goRegexSyntaxError(pattern) ?? null;
        syntax.push([pattern, error]);
        return error;
      });
      return errors.every((error) => error === null);
    });
    parentPort?.postMessage({ id: job.id, results: decideIdentities(valid, job.allowed), syntax });
  } catch (error) {
    // Only the error's type crosses over: its message would reach a denial, and a foreign message is never shown.
    parentPort?.postMessage({
      id: job.id,
      results: [],
      error: `internal error: ${error instanceof Error ? error.name : typeof error}`,
    });
  }
});
