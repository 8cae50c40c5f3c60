/**
 * The Kubernetes adapter room: one `KubeConnection` per process (the KubeConfig and API clients every adapter
 * shares), and small interfaces over it (`SecretReader`, `NamespaceReader`) with their real client
 * (`*-client.ts`), test double (`*-memory.ts`) and cache (`caching-readers.ts`). Other rooms import only
 * from here.
 */
export { createKubeConnection, loadKubeConfig, readObject } from './connection.ts';
export type { KubeConnection, KubeConnectionOptions } from './connection.ts';
export type { KubeSecret, KubeServiceAccount, SecretReader } from './secret-reader.ts';
export { createKubeSecretReader } from './secret-reader-client.ts';
export type { KubeSecretReaderOptions } from './secret-reader-client.ts';
export { createMemorySecretReader } from './secret-reader-memory.ts';
export type { MemorySecrets } from './secret-reader-memory.ts';
export type { NamespaceReader } from './namespace-reader.ts';
export { KubeApiError, createObjectClient, createObjectClients, serviceAccountUser } from './object-client.ts';
export type {
  ApplyOptions,
  JsonPatchOp,
  KubeObjectBody,
  ObjectClient,
  ObjectClientOptions,
  ObjectClients,
  ObjectRef,
  Scope,
} from './object-client.ts';
export { createRemoteObjectClients } from './remote-clients.ts';
export { createKubeNamespaceReader } from './namespace-reader-client.ts';
export { createMemoryNamespaceReader } from './namespace-reader-memory.ts';
export { cachingNamespaceReader, cachingSecretReader } from './caching-readers.ts';
export { createKubeApi, isRetriableKubeError, kubeStatusOf } from './api.ts';
export type { HttpMethod, KubeApi, KubeApiOptions, KubeRequest, WatchEvent, WatchOptions } from './api.ts';
export { RESOURCES, collectionPath, groupVersionPath, objectKey, objectPath, splitKey } from './resource.ts';
export type { KubeObject, ResourceType } from './resource.ts';
export { createInformer } from './informer.ts';
export type { Informer, InformerEvent, InformerEventType, InformerOptions } from './informer.ts';
export { POLICY_RESOURCES, startClusterPolicySource } from './cluster-policy.ts';
export { createLeaderElector } from './leader.ts';
export type { LeaderElectionOptions, LeaderElector, LeaseSettings } from './leader.ts';
export type { ClusterPolicyOptions, ClusterPolicySource } from './cluster-policy.ts';
