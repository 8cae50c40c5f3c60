/**
 * The shapes the apply engine works on: a Kubernetes object as plain data, its identity (Flux's
 * `ObjMetadata`: namespace, name, group, kind — never the version), and the inventory entry format
 * `<namespace>_<name>_<group>_<kind>` with `v` the version, exactly as kustomize-controller writes
 * `status.inventory.entries` (cli-utils `ObjMetadata.String`, RBAC `:` written `__`). Pure.
 */

export interface KubeMetadata {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  deletionTimestamp?: string;
  managedFields?: ManagedFieldsEntry[];
  [key: string]: unknown;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [key: string]: unknown;
}

/** An object's identity, as Flux compares it: the version is not part of it. */
export interface ObjectId {
  namespace: string;
  name: string;
  group: string;
  kind: string;
}

export interface InventoryEntry {
  id: string;
  v: string;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function joinApiVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

export function objectId(object: KubeObject): ObjectId {
  return {
    namespace: object.metadata.namespace ?? '',
    name: object.metadata.name ?? '',
    group: splitApiVersion(object.apiVersion).group,
    kind: object.kind,
  };
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

/** `<namespace>_<name>_<group>_<kind>`; for RBAC kinds a `:` in the name is written `__`. */
export function encodeId(id: ObjectId): string {
  const name = id.group === RBAC_GROUP && RBAC_KINDS.has(id.kind) ? id.name.replaceAll(':', '__') : id.name;
  return `${id.namespace}_${name}_${id.group}_${id.kind}`;
}

/**
 * The reverse of `encodeId`, as cli-utils `ParseObjMetadata` reads it: namespace up to the first `_`,
 * kind after the last, group between the second-last and the last, the name in between. `undefined`
 * for a string that cannot be an id (fewer than four fields, an empty name or kind).
 */
export function decodeId(text: string): ObjectId | undefined {
  const first = text.indexOf('_');
  const last = text.lastIndexOf('_');
  if (first < 0 || last <= first) return undefined;
  const secondLast = text.lastIndexOf('_', last - 1);
  if (secondLast <= first) return undefined;
  const namespace = text.slice(0, first);
  const group = text.slice(secondLast + 1, last);
  const kind = text.slice(last + 1);
  let name = text.slice(first + 1, secondLast);
  if (name === '' || kind === '') return undefined;
  if (group === RBAC_GROUP && RBAC_KINDS.has(kind)) name = name.replaceAll('__', ':');
  return { namespace, name, group, kind };
}

export function inventoryEntry(object: KubeObject): InventoryEntry {
  return { id: encodeId(objectId(object)), v: splitApiVersion(object.apiVersion).version };
}

/** `Kind/namespace/name` (or `Kind/name` when cluster-scoped): how Flux names an object in messages. */
export function describeObject(id: ObjectId): string {
  return id.namespace === '' ? `${id.kind}/${id.name}` : `${id.kind}/${id.namespace}/${id.name}`;
}

export function describe(object: KubeObject): string {
  return describeObject(objectId(object));
}

export function sameId(a: ObjectId, b: ObjectId): boolean {
  return a.namespace === b.namespace && a.name === b.name && a.group === b.group && a.kind === b.kind;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
