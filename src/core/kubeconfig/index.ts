/** A tenant's kubeconfig for a remote cluster (Kustomization `spec.kubeConfig`), parsed and judged without I/O. */
export { MAX_KUBECONFIG_BYTES, parseRemoteClusterAddress, parseRemoteKubeConfig } from './parse.ts';
export type { RemoteClusterRules, RemoteKubeConfig } from './parse.ts';
