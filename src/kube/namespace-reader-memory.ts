/** The `NamespaceReader` test double: in memory, counting reads. */
import type { NamespaceReader } from './namespace-reader.ts';

export function createMemoryNamespaceReader(
  namespaces: Record<string, Record<string, string>> = {},
): NamespaceReader & { reads: number } {
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
