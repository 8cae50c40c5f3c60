/** `NamespaceReader` over @kubernetes/client-node (`get` on `namespaces`), on the process's one `KubeConnection`. */
import { CoreV1Api } from '@kubernetes/client-node';
import { createKubeConnection, readObject } from './connection.ts';
import type { KubeConnection, KubeConnectionOptions } from './connection.ts';
import type { NamespaceReader } from './namespace-reader.ts';

export function createKubeNamespaceReader(
  options: KubeConnectionOptions & { connection?: KubeConnection } = {},
): NamespaceReader {
  const connection = options.connection ?? createKubeConnection(options);
  return {
    async getNamespaceLabels(name, signal) {
      const namespace = await readObject(connection, `Namespace ${name}`, signal, (opts) =>
        connection.api(CoreV1Api).readNamespace({ name }, opts),
      );
      if (namespace === undefined) return undefined;
      const labels: Record<string, string> = {};
      for (const [key, value] of Object.entries(namespace.metadata?.labels ?? {}))
        if (typeof value === 'string') labels[key] = value;
      return labels;
    },
  };
}
