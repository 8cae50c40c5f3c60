/**
 * Keyless identity containment off the event loop. Before `/validate` runs the rules, the object's
 * matchOIDCIdentity entries that are not memoised yet are decided in one worker thread (same budgets as the
 * rules: 250 ms per entry, 900 ms per object, counted in the worker's CPU time), and the rules read those
 * decisions instead of computing them. The event loop, and so `/healthz` and every other review, stays
 * free while the worst object is decided. Known entries (the common case) never leave the thread.
 *
 * Jobs queue in the worker. A job not answered by its review's deadline resolves with no decisions, and the
 * rules deny its entries as `identity-too-complex` ("not decided in time"): a busy checker never delays
 * another review past its deadline, and never admits an unproven identity. A crashed worker is replaced.
 */
import { Worker } from 'node:worker_threads';
import { governedKindOf, objectRefOf, readOciRepository } from '../core/flux/index.ts';
import type { OciRepositoryView } from '../core/flux/index.ts';
import { inputCapViolations } from '../core/input-caps.ts';
import type { AllowedIdentity, SourcePolicy } from '../core/policy/index.ts';
import { selectRule } from '../core/scope/index.ts';
import { rememberSyntaxVerdict } from '../core/go-regex.ts';
import { identityKey, isIdentityDecided } from '../core/rules/index.ts';
import type { IdentityEntry, PrecomputedIdentities } from '../core/rules/index.ts';
import type { IdentityCheck } from '../core/identity/index.ts';
import type { IdentityJob } from './identity-worker.ts';

export interface IdentityOffload {
  /**
   * Decisions for the object's undecided entries, or undefined when the rules have nothing to compute
   * (not an OCIRepository, exempt, over an input cap, no keyless entries, all memoised).
   */
  prepare(
    object: unknown,
    namespace: string | undefined,
    policy: SourcePolicy,
    deadline: number,
  ): Promise<PrecomputedIdentities> | undefined;
  close(): Promise<void>;
}

interface Pending {
  resolve(identities: PrecomputedIdentities): void;
  timer: NodeJS.Timeout;
  /** The deciding rule's allowed list the job was decided against (the rules use the decisions only for it). */
  allowed: readonly AllowedIdentity[];
}

interface WorkerAnswer {
  id: number;
  results: Array<[string, IdentityCheck]>;
  /** Each pattern's Go syntax error, or null when it compiles. */
  syntax?: Array<[string, string | null]>;
  skipped?: boolean;
  error?: string;
}

const WORKER_URL = new URL(`./identity-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
const NOT_IN_TIME = "was not decided within the review's deadline (the identity checker is busy)";

export function createIdentityOffload(options: { clock?: () => number } = {}): IdentityOffload {
  const clock = options.clock ?? Date.now;
  const pending = new Map<number, Pending>();
  let worker: Worker | undefined;
  let nextId = 1;
  let closed = false;

  const settle = (id: number, identities: PrecomputedIdentities): void => {
    const job = pending.get(id);
    if (!job) return;
    pending.delete(id);
    clearTimeout(job.timer);
    job.resolve({ ...identities, allowed: job.allowed });
  };
  const failAll = (why: string): void => {
    for (const id of [...pending.keys()]) settle(id, { checks: new Map(), missing: why });
  };
  const start = (): Worker => {
    const started = new Worker(WORKER_URL);
    started.unref();
    started.on('message', (answer: WorkerAnswer) => {
      for (const [pattern, error] of answer.syntax ?? []) rememberSyntaxVerdict(pattern, error ?? undefined);
      const missing =
        answer.error !== undefined
          ? `could not be decided (${answer.error.slice(0, 80)})`
          : answer.skipped
            ? NOT_IN_TIME
            : "exceeded this object's identity time bound";
      settle(answer.id, { checks: new Map(answer.results), missing });
    });
    const replace = (why: string): void => {
      if (worker === started) worker = undefined;
      failAll(why);
    };
    started.on('error', () => replace('could not be decided (the identity checker failed)'));
    started.on('exit', () => replace('could not be decided (the identity checker stopped)'));
    return started;
  };

  return {
    prepare(object, namespace, policy, deadline) {
      if (closed || governedKindOf(object) !== 'OCIRepository') return undefined;
      const objectNamespace = objectRefOf(object).namespace ?? namespace;
      if (objectNamespace !== undefined && policy.spec.exemptNamespaces.includes(objectNamespace)) return undefined;
      const view = readOciRepository(object);
      if (inputCapViolations(view).length > 0) return undefined;
      // The rule that will decide this object (spec.rules) owns the allowed list; selection is pure and cheap.
      const allowed = selectRule(object, policy).policy.spec.ociRepository.allowedIdentities;
      if (allowed.length === 0) return undefined;
      // No compiling here (the worker does it): every keyless entry of two strings not memoised yet goes.
      const undecided = unique(keylessStringEntries(view).filter((entry) => !isIdentityDecided(entry, allowed)));
      if (undecided.length === 0) return undefined;
      worker ??= start();
      const id = nextId++;
      const job: IdentityJob = {
        id,
        entries: undecided,
        allowed: allowed.map((identity) => ({ ...identity })),
        deadline,
      };
      return new Promise<PrecomputedIdentities>((resolve) => {
        const timer = setTimeout(
          () => settle(id, { checks: new Map(), missing: NOT_IN_TIME }),
          Math.max(1, deadline - clock()),
        );
        pending.set(id, { resolve, timer, allowed });
        worker?.postMessage(job);
      });
    },
    async close() {
      closed = true;
      failAll('could not be decided (the webhook is shutting down)');
      const running = worker;
      worker = undefined;
      await running?.terminate();
    },
  };
}

function unique(entries: IdentityEntry[]): IdentityEntry[] {
  const seen = new Set<string>();
  return entries.filter((entry) => {
    const key = identityKey(entry);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Keyless cosign entries (no secretRef) whose issuer and subject are strings: what the identity rules read. */
function keylessStringEntries(view: OciRepositoryView): IdentityEntry[] {
  const verify = view.verify;
  if (!verify || verify.provider !== 'cosign' || verify.hasSecretRef) return [];
  return verify.identities.flatMap((entry) =>
    typeof entry.issuer === 'string' && typeof entry.subject === 'string'
      ? [{ issuer: entry.issuer, subject: entry.subject }]
      : [],
  );
}
