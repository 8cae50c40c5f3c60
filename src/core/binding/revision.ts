/**
 * The forms Flux writes into `org.opencontainers.image.revision` (`flux push artifact --revision`, the
 * source-controller's git revisions): `<branch>@sha1:<hex>`, `<tag>@sha1:<hex>`, `sha1:<hex>`, a bare hex
 * commit id, and the same with `sha256:` for repositories in the SHA-256 object format. Only a full commit id
 * names a commit: a short sha is a prefix anyone can collide with, so it is reported, never matched.
 */

export type ParsedRevision =
  { ok: true; ref?: string; algorithm: 'sha1' | 'sha256' | 'bare'; hex: string } | { ok: false; reason: string };

export const MAX_REVISION_LENGTH = 1024;
const HEX = /^[0-9a-fA-F]+$/;
const LENGTHS = { sha1: 40, sha256: 64 } as const;

export function parseRevision(revision: string): ParsedRevision {
  const text = revision.trim();
  if (text === '') return { ok: false, reason: 'is empty' };
  if (text.length > MAX_REVISION_LENGTH)
    return { ok: false, reason: `is longer than ${MAX_REVISION_LENGTH} characters` };
  const at = text.lastIndexOf('@');
  const ref = at >= 0 ? text.slice(0, at) : undefined;
  const commit = at >= 0 ? text.slice(at + 1) : text;
  if (ref === '') return { ok: false, reason: 'has an empty ref before @' };
  const colon = commit.indexOf(':');
  if (colon < 0) return bare(commit, ref);
  const algorithm = commit.slice(0, colon).toLowerCase();
  const hex = commit.slice(colon + 1);
  if (algorithm !== 'sha1' && algorithm !== 'sha256')
    return { ok: false, reason: `names an unknown object format '${algorithm}' (sha1 or sha256)` };
  if (!HEX.test(hex)) return { ok: false, reason: `has a ${algorithm} id that is not hexadecimal` };
  if (hex.length !== LENGTHS[algorithm])
    return {
      ok: false,
      reason: `has a ${hex.length}-character ${algorithm} id, not a full ${LENGTHS[algorithm]}-character commit id`,
    };
  return { ok: true, ...(ref !== undefined ? { ref } : {}), algorithm, hex: hex.toLowerCase() };
}

function bare(commit: string, ref: string | undefined): ParsedRevision {
  if (!HEX.test(commit)) {
    return ref === undefined
      ? { ok: false, reason: 'is neither a commit id nor <ref>@sha1:<commit>' }
      : { ok: false, reason: `has '${commit}' after @, not sha1:<commit>` };
  }
  if (commit.length !== 40 && commit.length !== 64) {
    return {
      ok: false,
      reason: `is a ${commit.length}-character commit id: a short sha does not name one commit (use the full 40 or 64 hex)`,
    };
  }
  return { ok: true, ...(ref !== undefined ? { ref } : {}), algorithm: 'bare', hex: commit.toLowerCase() };
}

/**
 * Does the revision's ref (`main`, `v1.0.0`, `refs/heads/main`) name the certificate's ref
 * (`refs/heads/main`, `refs/tags/v1.0.0`, `refs/pull/1/merge`)? A short name matches a branch or a tag of
 * that name, a full name must be equal.
 */
export function refsAgree(revisionRef: string, certificateRef: string): boolean {
  if (revisionRef.startsWith('refs/')) return revisionRef === certificateRef;
  return certificateRef === `refs/heads/${revisionRef}` || certificateRef === `refs/tags/${revisionRef}`;
}
