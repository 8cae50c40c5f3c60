/**
 * Pure helpers over OCIRepository URLs and refs, shared by rules and mutation. The full reference parser
 * (Docker Hub aliases, ports) lives in src/oci; here only what a rule needs: prefix matching on path
 * boundaries and the effective ref Flux would use.
 */

const DIGEST = /^sha256:[a-f0-9]{64}$/;
// distribution-spec tag grammar: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function isValidDigest(value: string): boolean {
  return DIGEST.test(value);
}

export function isValidTag(value: string): boolean {
  return TAG.test(value);
}

/** `oci://Host/Path/` → `oci://host/Path` (host is case-insensitive, the path is not; no trailing slash). */
export function normalizeOciUrl(url: string): string {
  const match = /^oci:\/\/([^/]*)(\/.*)?$/i.exec(url.trim());
  if (!match) return url.trim();
  const host = (match[1] ?? '').toLowerCase();
  const path = (match[2] ?? '').replace(/\/+$/, '');
  return `oci://${host}${path}`;
}

/** Prefix match on path boundaries: `oci://ghcr.io/acme` admits `oci://ghcr.io/acme/app`, not `…/acmex`. */
export function urlHasPrefix(url: string, prefix: string): boolean {
  return urlHasAnyPrefix(url, [prefix]);
}

/** Normalised prefixes per policy list, so a hot admission path normalises only the submitted URL. */
const normalisedPrefixes = new WeakMap<readonly string[], string[]>();

export function urlHasAnyPrefix(url: string, prefixes: readonly string[]): boolean {
  let bases = normalisedPrefixes.get(prefixes);
  if (!bases) {
    bases = prefixes.map(normalizeOciUrl);
    normalisedPrefixes.set(prefixes, bases);
  }
  const candidate = normalizeOciUrl(url);
  return bases.some((base) => candidate === base || candidate.startsWith(`${base}/`));
}
