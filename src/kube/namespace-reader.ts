/**
 * Reads the labels of a Namespace: a policy rule with `match.namespaceSelector` needs them at admission (an
 * AdmissionReview carries the object's labels, not its Namespace's). A tiny interface like `SecretReader`, so
 * flows and tests never depend on client-node; answers are cached briefly and identical reads shared.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { loadConfig, read } from './secrets.ts';

export interface NamespaceReader {
  /** undefined when the Namespace does not exist; throws PinwardenError when the API could not answer. */
  getNamespaceLabels(name: string, signal?: AbortSignal): Promise<Readonly<Record<string, string>> | undefined>;
}

export function createKubeNamespaceReader(options: { kubeconfig?: string; timeoutMs?: number } = {}): NamespaceReader {
  let api: CoreV1Api | undefined;
  const client = (): CoreV1Api => (api ??= loadConfig(options.kubeconfig).makeApiClient(CoreV1Api));
  const timeoutMs = options.timeoutMs ?? 2000;
  return {
    async getNamespaceLabels(name, signal) {
      const namespace = await read(`Namespace ${name}`, timeoutMs, signal, (opts) => client().readNamespace({ name }, opts));
      if (namespace === undefined) return undefined;
      const labels: Record<string, string> = {};
      for (const [key, value] of Object.entries(namespace.metadata?.labels ?? {})) if (typeof value === 'string') labels[key] = value;
      return labels;
    },
  };
}

/** In-memory reader for tests and callers without a cluster; counts reads. */
export function createMemoryNamespaceReader(namespaces: Record<string, Record<string, string>> = {}): NamespaceReader & { reads: number } {
  const reader = {
    reads: 0,
    async getNamespaceLabels(name: string): Promise<Readonly<Record<string, string>> | undefined> {
      reader.reads++;
      const labels = namespaces[name];
      return labels ? { ...labels } : undefined;
    },
  };
  return reader;
}

/** Remembers answers for `ttlMs` (bounded), shares in-flight reads, never remembers errors. */
export function cachingNamespaceReader(reader: NamespaceReader, ttlMs = 10_000, now: () => number = Date.now): NamespaceReader {
  const entries = new Map<string, { value: Promise<Readonly<Record<string, string>> | undefined>; expiresAt: number }>();
  return {
    getNamespaceLabels(name, signal) {
      const hit = entries.get(name);
      if (hit && hit.expiresAt > now()) return hit.value;
      const value = reader.getNamespaceLabels(name, signal);
      entries.set(name, { value, expiresAt: now() + ttlMs });
      value.catch(() => entries.delete(name));
      if (entries.size > 4096) entries.delete(entries.keys().next().value ?? '');
      return value;
    },
  };
}
