/**
 * Which API resource a call targets (group, version, plural, namespaced) and the REST paths of it. Names
 * and namespaces are path-escaped: they come from objects tenants write.
 */
export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  /** The plural resource name, e.g. `ocirepositories`. */
  resource: string;
  namespaced: boolean;
  /** The kind, for messages and Events. */
  kind: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    [key: string]: unknown;
  };
  spec?: unknown;
  status?: unknown;
  [key: string]: unknown;
}

export const RESOURCES = {
  ociRepository: {
    group: 'source.toolkit.fluxcd.io',
    version: 'v1',
    resource: 'ocirepositories',
    namespaced: true,
    kind: 'OCIRepository',
  },
  kustomization: {
    group: 'kustomize.toolkit.fluxcd.io',
    version: 'v1',
    resource: 'kustomizations',
    namespaced: true,
    kind: 'Kustomization',
  },
  lease: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true, kind: 'Lease' },
  event: { group: '', version: 'v1', resource: 'events', namespaced: true, kind: 'Event' },
} as const satisfies Record<string, ResourceType>;

/** `/api/v1` or `/apis/<group>/<version>`. */
export function groupVersionPath(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
}

/** The collection path, in a namespace or cluster-wide (namespace undefined). */
export function collectionPath(type: ResourceType, namespace?: string): string {
  const scope = type.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${groupVersionPath(type)}${scope}/${type.resource}`;
}

/** One object's path, optionally a subresource (`status`). */
export function objectPath(
  type: ResourceType,
  namespace: string | undefined,
  name: string,
  subresource?: string,
): string {
  return `${collectionPath(type, namespace)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}

/** `namespace/name` (or `name` for cluster-scoped objects): the work-queue key. */
export function objectKey(object: Pick<KubeObject, 'metadata'>): string {
  const { namespace, name } = object.metadata;
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
