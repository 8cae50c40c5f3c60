/**
 * The interface of the two reads registry access needs from the cluster (a Secret, a ServiceAccount's image
 * pull secrets), so flows and tests never depend on client-node. Secret values are bytes already
 * base64-decoded; nothing here ever logs or formats them. Real client: `secret-reader-client.ts`; test
 * double: `secret-reader-memory.ts`; cache: `caching-readers.ts`.
 */
export interface KubeSecret {
  /** `kubernetes.io/dockerconfigjson`, `kubernetes.io/tls`, `Opaque`… ('' when the API gave none). */
  type: string;
  data: Readonly<Record<string, Uint8Array>>;
  /** `metadata.resourceVersion` when the API gave one (a cache key: it changes whenever the Secret does). */
  resourceVersion?: string;
}

export interface KubeServiceAccount {
  /** Names of the Secrets listed in `imagePullSecrets`. */
  imagePullSecrets: string[];
}

export interface SecretReader {
  /** undefined when the Secret does not exist; throws PinwardenError when the API could not answer. */
  getSecret(namespace: string, name: string, signal?: AbortSignal): Promise<KubeSecret | undefined>;
  getServiceAccount(namespace: string, name: string, signal?: AbortSignal): Promise<KubeServiceAccount | undefined>;
}
