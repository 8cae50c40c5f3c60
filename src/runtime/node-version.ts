/** The oldest Node.js pinwarden runs on (package.json `engines.node`), checked before anything else loads. */
export const MIN_NODE_MAJOR = 24;

/** A one-line reason when `version` (process.versions.node, e.g. "20.20.2") is too old; undefined when it fits. */
export function nodeVersionProblem(version: string): string | undefined {
  const major = Number(version.split('.')[0]);
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return undefined;
  return `Node.js ${MIN_NODE_MAJOR} or newer is required, this is Node.js ${version} (run it with a newer node, or through npm, which uses the project's Node ${MIN_NODE_MAJOR})`;
}
