/** `SecretReader` over @kubernetes/client-node, on the process's one `KubeConnection`. */
import { CoreV1Api } from '@kubernetes/client-node';
import { createKubeConnection, readObject } from './connection.ts';
import type { KubeConnection, KubeConnectionOptions } from './connection.ts';
import type { KubeSecret, KubeServiceAccount, SecretReader } from './secret-reader.ts';

/** `connection`: the process's shared one; else one is made from the options (tests, one-off callers). */
export interface KubeSecretReaderOptions extends KubeConnectionOptions {
  connection?: KubeConnection;
}

export function createKubeSecretReader(options: KubeSecretReaderOptions = {}): SecretReader {
  const connection = options.connection ?? createKubeConnection(options);
  const core = (): CoreV1Api => connection.api(CoreV1Api);
  return {
    async getSecret(namespace, name, signal) {
      const secret = await readObject(connection, `Secret ${namespace}/${name}`, signal, (opts) =>
        core().readNamespacedSecret({ namespace, name }, opts),
      );
      if (secret === undefined) return undefined;
      const decoded = decodeSecret(secret.type, secret.data);
      const version = secret.metadata?.resourceVersion;
      return typeof version === 'string' && version !== '' ? { ...decoded, resourceVersion: version } : decoded;
    },
    async getServiceAccount(namespace, name, signal) {
      const account = await readObject(connection, `ServiceAccount ${namespace}/${name}`, signal, (opts) =>
        core().readNamespacedServiceAccount({ namespace, name }, opts),
      );
      if (account === undefined) return undefined;
      const names = (account.imagePullSecrets ?? [])
        .map((ref) => ref.name)
        .filter((value): value is string => typeof value === 'string' && value !== '');
      return { imagePullSecrets: names } satisfies KubeServiceAccount;
    },
  };
}

function decodeSecret(type: string | undefined, data: Record<string, string> | undefined): KubeSecret {
  const decoded: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(data ?? {})) decoded[key] = Buffer.from(value, 'base64');
  return { type: type ?? '', data: decoded };
}
