/**
 * The identity worker's thread: decides the containment of one object's matchOIDCIdentity entries under the
 * same budgets as the rules (`decideIdentities`), so the webhook's event loop never runs an automaton. Jobs
 * arrive in order; one whose deadline has passed while it waited is skipped (its review is already answered).
 */
import { parentPort } from 'node:worker_threads';
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
    parentPort?.postMessage({ id: job.id, results: decideIdentities(job.entries, job.allowed) });
  } catch (error) {
    parentPort?.postMessage({ id: job.id, results: [], error: error instanceof Error ? error.message : String(error) });
  }
});
