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
export { KubeApiError, createObjectClient, serviceAccountUser } from './object-client.ts';
export type { ApplyOptions, JsonPatchOp, KubeObjectBody, ObjectClient, ObjectClientOptions, ObjectRef, Scope } from './object-client.ts';
