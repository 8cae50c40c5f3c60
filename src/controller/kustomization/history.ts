/**
 * `status.history` as kustomize-controller keeps it (fluxcd/pkg `apis/meta` `History.Upsert`): one snapshot
 * per digest of the applied manifests, newest first, at most 5; a repeated digest updates its snapshot
 * (last time, duration, status, count) and moves it to the front. Pure.
 */
import { createHash } from 'node:crypto';
import { formatGoDuration } from '../../core/duration.ts';

export interface Snapshot {
  digest: string;
  firstReconciled: string;
  lastReconciled: string;
  lastReconciledDuration: string;
  lastReconciledStatus: string;
  totalReconciliations: number;
  metadata?: Record<string, string>;
}

export const MAX_HISTORY = 5;

/** The checksum of a set of manifests: sha256 of their JSON, in order. */
export function manifestsDigest(objects: readonly unknown[]): string {
  const hash = createHash('sha256');
  for (const object of objects) hash.update(JSON.stringify(object)).update('\n');
  return `sha256:${hash.digest('hex')}`;
}

function isSnapshot(value: unknown): value is Snapshot {
  const item = value as Partial<Snapshot> | null;
  return (
    typeof item === 'object' &&
    item !== null &&
    typeof item.digest === 'string' &&
    typeof item.firstReconciled === 'string' &&
    typeof item.totalReconciliations === 'number'
  );
}

export function upsertHistory(
  previous: unknown,
  entry: { digest: string; at: Date; durationMs: number; status: string; metadata: Record<string, string> },
): Snapshot[] {
  const list = (Array.isArray(previous) ? previous : []).filter(isSnapshot);
  const at = entry.at.toISOString().replace(/\.\d+Z$/, 'Z');
  const existing = list.find((item) => item.digest === entry.digest);
  const updated: Snapshot = {
    digest: entry.digest,
    firstReconciled: existing?.firstReconciled ?? at,
    lastReconciled: at,
    lastReconciledDuration: formatGoDuration(Math.round(entry.durationMs)),
    lastReconciledStatus: entry.status,
    totalReconciliations: (existing?.totalReconciliations ?? 0) + 1,
    ...(Object.keys(entry.metadata).length > 0 ? { metadata: entry.metadata } : {}),
  };
  return [updated, ...list.filter((item) => item.digest !== entry.digest)].slice(0, MAX_HISTORY);
}
