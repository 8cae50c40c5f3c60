/**
 * The SourcePolicyException objects of a cluster → the exceptions `/validate` applies (exactly as
 * `check --exceptions` does offline), and a status per object. Pure; `now` is injected.
 *
 * An invalid exception waives nothing (dropping a waiver can only close the gate). An expired one stays in the
 * set so a finding it no longer waives says so, and its status reads Expired; `nextExpiry` tells the caller
 * when to judge again so the status flips on time.
 */
import { toPinwardenError } from '../errors.ts';
import { loadExceptions, isExpired } from '../exceptions/index.ts';
import type { SourcePolicyException } from '../exceptions/index.ts';
import { asRecord, asString } from '../flux/objects.ts';
import { boundedMessage, type ObjectReport } from './report.ts';

/** At most this many exceptions are applied (each names up to 64 objects); the rest are refused. */
export const MAX_EXCEPTIONS = 4096;

export interface ExceptionSetMemory {
  /** `namespace/name` → the spec it was parsed from and the outcome: the same text is never parsed twice. */
  readonly parsed: ReadonlyMap<string, { key: string; exception?: SourcePolicyException; problem?: string }>;
}

export const EMPTY_EXCEPTION_SET: ExceptionSetMemory = { parsed: new Map() };

export interface ExceptionSetResult {
  memory: ExceptionSetMemory;
  /** Valid exceptions, expired ones included (they waive nothing and are reported on the findings). */
  exceptions: SourcePolicyException[];
  reports: ObjectReport[];
  /** ms since the epoch of the next `expires` after `now`, if any. */
  nextExpiry?: number;
}

export function reconcileExceptions(
  objects: readonly unknown[],
  memory: ExceptionSetMemory,
  now: Date,
): ExceptionSetResult {
  const entries = objects.map(readObject).filter((entry) => entry !== undefined);
  entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const parsed = new Map<string, { key: string; exception?: SourcePolicyException; problem?: string }>();
  const exceptions: SourcePolicyException[] = [];
  const reports: ObjectReport[] = [];
  let nextExpiry: number | undefined;
  for (const entry of entries) {
    const known = memory.parsed.get(entry.id);
    const outcome = known && known.key === entry.key ? known : parse(entry);
    parsed.set(entry.id, outcome);
    const base = {
      kind: 'SourcePolicyException' as const,
      namespace: entry.namespace,
      name: entry.name,
      ...(entry.generation !== undefined ? { generation: entry.generation } : {}),
    };
    const exception = outcome.exception;
    if (!exception) {
      reports.push({
        ...base,
        condition: {
          status: 'False',
          reason: 'InvalidException',
          message: boundedMessage(`${outcome.problem ?? 'invalid'}; it waives nothing`),
        },
      });
      continue;
    }
    if (exceptions.length >= MAX_EXCEPTIONS) {
      reports.push({
        ...base,
        condition: {
          status: 'False',
          reason: 'InvalidException',
          message: `more than ${MAX_EXCEPTIONS} SourcePolicyException objects; it waives nothing`,
        },
      });
      continue;
    }
    exceptions.push(exception);
    if (isExpired(exception, now)) {
      reports.push({
        ...base,
        condition: {
          status: 'False',
          reason: 'Expired',
          message: boundedMessage(
            `expired ${exception.spec.expires}: it waives nothing any more; delete it, or move spec.expires if the reason still holds`,
          ),
        },
      });
      continue;
    }
    const expiresAt = Date.parse(exception.spec.expires);
    nextExpiry = nextExpiry === undefined ? expiresAt : Math.min(nextExpiry, expiresAt);
    const objectsNamed = exception.spec.objects.length;
    reports.push({
      ...base,
      condition: {
        status: 'True',
        reason: 'Active',
        message: boundedMessage(
          `waives ${exception.spec.ruleIds.join(', ')} for ${objectsNamed} object ${objectsNamed === 1 ? 'entry' : 'entries'} in ${entry.namespace} until ${exception.spec.expires}`,
        ),
      },
    });
  }
  return { memory: { parsed }, exceptions, reports, ...(nextExpiry !== undefined ? { nextExpiry } : {}) };
}

interface Entry {
  id: string;
  namespace: string;
  name: string;
  generation?: number;
  key: string;
  raw: unknown;
}

function readObject(raw: unknown): Entry | undefined {
  const metadata = asRecord(asRecord(raw)?.metadata);
  const name = asString(metadata?.name);
  const namespace = asString(metadata?.namespace);
  if (!name || !namespace) return undefined;
  const generation = typeof metadata?.generation === 'number' ? metadata.generation : undefined;
  return {
    id: `${namespace}/${name}`,
    namespace,
    name,
    key: JSON.stringify(asRecord(raw)?.spec ?? null),
    raw,
    ...(generation !== undefined ? { generation } : {}),
  };
}

/** The same loader as `check --exceptions`, on the object as written. */
function parse(entry: Entry): { key: string; exception?: SourcePolicyException; problem?: string } {
  const record = asRecord(entry.raw) ?? {};
  const document = {
    apiVersion: record.apiVersion,
    kind: record.kind,
    metadata: { name: entry.name, namespace: entry.namespace },
    ...(record.spec !== undefined ? { spec: record.spec } : {}),
  };
  try {
    const [exception] = loadExceptions(JSON.stringify(document), `SourcePolicyException/${entry.id}`);
    return exception ? { key: entry.key, exception } : { key: entry.key, problem: 'empty document' };
  } catch (error) {
    return { key: entry.key, problem: toPinwardenError(error, 'PW_EXCEPTION_INVALID').message };
  }
}
