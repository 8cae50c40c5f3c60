/**
 * The object clients for a remote cluster (Kustomization `spec.kubeConfig`): a `KubeConfig` built only from the
 * fields `core/kubeconfig` judged safe (server, inline CA, `tls-server-name`, inline credentials, and an exec or
 * auth-provider plugin only when the operator allowed it), never from the tenant's document itself. Requests go
 * through `createObjectClients` (deadline per request, capped answers, impersonation of `serviceAccountName`).
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { RemoteKubeConfig } from '../core/kubeconfig/index.ts';
import { createObjectClients } from './object-client.ts';
import type { ObjectClientOptions, ObjectClients } from './object-client.ts';

export function createRemoteObjectClients(
  remote: RemoteKubeConfig,
  options: Omit<ObjectClientOptions, 'impersonate'> & { max?: number } = {},
): ObjectClients {
  const config = new KubeConfig();
  const user = remote.user;
  config.loadFromOptions({
    clusters: [
      {
        name: 'remote',
        server: remote.server,
        skipTLSVerify: remote.insecureSkipTlsVerify,
        ...(remote.caData === undefined ? {} : { caData: remote.caData }),
        ...(remote.tlsServerName === undefined ? {} : { tlsServerName: remote.tlsServerName }),
      },
    ],
    users: [
      {
        name: 'remote',
        ...(user.token === undefined ? {} : { token: user.token }),
        ...(user.certData === undefined ? {} : { certData: user.certData, keyData: user.keyData }),
        ...(user.username === undefined ? {} : { username: user.username }),
        ...(user.password === undefined ? {} : { password: user.password }),
        ...(user.exec === undefined ? {} : { exec: user.exec }),
        ...(user.authProvider === undefined ? {} : { authProvider: user.authProvider }),
      },
    ],
    contexts: [{ name: 'remote', cluster: 'remote', user: 'remote' }],
    currentContext: 'remote',
  });
  // Impersonating clients per ServiceAccount: a remote cluster serves few tenants' accounts.
  return createObjectClients(config, { max: 16, ...options });
}
