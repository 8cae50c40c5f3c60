/**
 * The interface that reads the labels of a Namespace: a policy rule with `match.namespaceSelector` needs them
 * at admission (an AdmissionReview carries the object's labels, not its Namespace's). Real client:
 * `namespace-reader-client.ts`; test double: `namespace-reader-memory.ts`; cache: `caching-readers.ts`.
 */
export interface NamespaceReader {
  /** undefined when the Namespace does not exist; throws PinwardenError when the API could not answer. */
  getNamespaceLabels(name: string, signal?: AbortSignal): Promise<Readonly<Record<string, string>> | undefined>;
}
