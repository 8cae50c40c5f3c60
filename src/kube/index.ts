/**
 * The Kubernetes adapter room. Today: reading the Secrets and ServiceAccounts that registry access needs
 * (`createKubeSecretReader` over client-node, `createMemorySecretReader` for tests). Other rooms import only
 * from here.
 */
export type { KubeSecret, KubeServiceAccount, MemorySecrets, SecretReader } from './secret-reader.ts';
export { cachingSecretReader, createMemorySecretReader } from './secret-reader.ts';
export { createKubeSecretReader } from './secrets.ts';
export type { KubeSecretReaderOptions } from './secrets.ts';
export { cachingNamespaceReader, createKubeNamespaceReader, createMemoryNamespaceReader } from './namespace-reader.ts';
export type { NamespaceReader } from './namespace-reader.ts';
export { createKubeApi, isRetriableKubeError, kubeStatusOf } from './api.ts';
export type { HttpMethod, KubeApi, KubeApiOptions, KubeRequest, WatchEvent, WatchOptions } from './api.ts';
export { RESOURCES, collectionPath, groupVersionPath, objectKey, objectPath, splitKey } from './resource.ts';
export type { KubeObject, ResourceType } from './resource.ts';
export { createInformer } from './informer.ts';
export type { Informer, InformerEvent, InformerEventType, InformerOptions } from './informer.ts';
