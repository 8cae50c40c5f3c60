/**
 * Garbage collection by inventory (kustomize-controller `prune`, fluxcd/pkg `ssa` `DeleteAll`): the
 * objects of the previous inventory that are absent from the new one, deleted in reverse apply order
 * with background propagation — never one whose live labels or annotations say
 * `kustomize.toolkit.fluxcd.io/prune: disabled` (or `reconcile: disabled`, `ssa: Ignore`), never one
 * whose ownership labels name another Kustomization. An object that could not be deleted stays in the
 * inventory (Flux 1.9: merged back) and the result carries `PW_PRUNE_FAILED`.
 */
import { PinwardenError } from '../../core/errors.ts';
import type { ObjectClient } from '../../kube/index.ts';
import { excludedFromPrune, ownedBy } from './markers.ts';
import type { Owner } from './markers.ts';
import { decodeId, describeObject, joinApiVersion } from './objects.ts';
import type { InventoryEntry, ObjectId } from './objects.ts';
import { sortForDelete } from './order.ts';

export type PruneAction = 'deleted' | 'skipped' | 'gone' | 'failed';

export interface PruneEntry {
  id: ObjectId;
  subject: string;
  action: PruneAction;
  /** Why it was skipped or failed. */
  why?: string;
}

export interface PruneResult {
  entries: PruneEntry[];
  /** The inventory after pruning: the new one plus every stale entry not confirmed deleted or skipped. */
  inventory: InventoryEntry[];
  error?: PinwardenError;
}

/** Entries of `previous` whose object identity (the version ignored) is not in `next`. */
export function staleEntries(previous: readonly InventoryEntry[], next: readonly InventoryEntry[]): InventoryEntry[] {
  const keep = new Set(next.map((entry) => idKey(entry.id)));
  return previous.filter((entry) => !keep.has(idKey(entry.id)));
}

function idKey(text: string): string {
  const id = decodeId(text);
  return id === undefined ? text : `${id.namespace}\u0000${id.name}\u0000${id.group}\u0000${id.kind}`;
}

export async function prune(
  client: ObjectClient,
  owner: Owner,
  previous: readonly InventoryEntry[],
  next: readonly InventoryEntry[],
): Promise<PruneResult> {
  const stale = staleEntries(previous, next);
  const versions = new Map<string, string>();
  const ids: ObjectId[] = [];
  const entries: PruneEntry[] = [];
  const unreadable: InventoryEntry[] = [];
  for (const entry of stale) {
    const id = decodeId(entry.id);
    if (id === undefined) {
      unreadable.push(entry);
      continue;
    }
    versions.set(idKey(entry.id), entry.v);
    ids.push(id);
  }
  const failed: InventoryEntry[] = [];
  for (const id of sortForDelete(ids)) {
    const subject = describeObject(id);
    const v = versions.get(`${id.namespace}\u0000${id.name}\u0000${id.group}\u0000${id.kind}`) ?? 'v1';
    const ref = {
      apiVersion: joinApiVersion(id.group, v),
      kind: id.kind,
      namespace: id.namespace || undefined,
      name: id.name,
    };
    try {
      const live = await client.get(ref);
      if (live === undefined) {
        entries.push({ id, subject, action: 'gone' });
        continue;
      }
      const object = live;
      if (excludedFromPrune(object)) {
        entries.push({ id, subject, action: 'skipped', why: 'prune disabled' });
        continue;
      }
      if (!ownedBy(object, owner)) {
        entries.push({ id, subject, action: 'skipped', why: 'owned by another Kustomization' });
        continue;
      }
      const deleted = await client.delete(ref);
      entries.push({ id, subject, action: deleted ? 'deleted' : 'gone' });
    } catch (error) {
      entries.push({ id, subject, action: 'failed', why: error instanceof Error ? error.message : String(error) });
      failed.push({
        id: stale.find(
          (entry) => idKey(entry.id) === `${id.namespace}\u0000${id.name}\u0000${id.group}\u0000${id.kind}`,
        )!.id,
        v,
      });
    }
  }
  const inventory = [...next, ...failed];
  const problems = entries.filter((entry) => entry.action === 'failed');
  const error =
    problems.length === 0
      ? undefined
      : new PinwardenError(
          'PW_PRUNE_FAILED',
          `prune failed: ${problems.map((entry) => `${entry.subject}: ${entry.why ?? ''}`).join('; ')}`,
          {
            details: { objects: problems.map((entry) => entry.subject) },
          },
        );
  return { entries, inventory: [...inventory, ...unreadable], error };
}
