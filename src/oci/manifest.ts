/**
 * Manifest helpers shared by the HTTP repository: the Accept list, the media type of an answer, and
 * descriptor validation for untrusted JSON (image index entries, referrers answers).
 * https://github.com/opencontainers/image-spec/blob/main/descriptor.md
 */
import { PinwardenError } from '../core/errors.ts';
import { isDigest } from './digest.ts';
import type { Descriptor } from './types.ts';
import { MEDIA_TYPES } from './types.ts';

export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.dockerManifestList,
];

export const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');

/** `application/vnd.oci.image.index.v1+json; charset=utf-8` → the bare media type, lowercased. */
export function bareMediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const bare = contentType.split(';')[0]?.trim().toLowerCase();
  return bare === '' ? undefined : bare;
}

const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList];

/**
 * The media type of a served manifest, or why the answer is not one: it must be a JSON object with
 * `schemaVersion: 2`, a manifest media type (the Content-Type's, else the body's own `mediaType`) that the
 * body does not contradict, and the shape of that type (`config` + `layers`, or `manifests`). A registry
 * that answers 200 with anything else has not given us something we may pin.
 */
export function manifestMediaType(
  contentType: string | undefined,
  bytes: Uint8Array,
): { mediaType: string } | { why: string } {
  const body = parseJsonObject(bytes);
  if (!body) return { why: 'the answer is not a JSON manifest' };
  if (body.schemaVersion !== 2) return { why: 'the answer is not a schemaVersion 2 manifest' };
  const header = bareMediaType(contentType);
  const declared = typeof body.mediaType === 'string' && body.mediaType !== '' ? body.mediaType : undefined;
  const mediaType = header !== undefined && MANIFEST_MEDIA_TYPES.includes(header) ? header : declared;
  if (mediaType === undefined || !MANIFEST_MEDIA_TYPES.includes(mediaType))
    return { why: 'the answer does not have a manifest media type' };
  if (declared !== undefined && declared !== mediaType)
    return { why: `the Content-Type says ${mediaType} but the manifest says ${declared.slice(0, 100)}` };
  const shaped = INDEX_TYPES.includes(mediaType)
    ? Array.isArray(body.manifests)
    : body.config !== null && typeof body.config === 'object' && Array.isArray(body.layers);
  return shaped ? { mediaType } : { why: `the answer does not have the shape of ${mediaType}` };
}

export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `manifests` of an image index as descriptors. Entries with another digest algorithm are skipped
 * (we only verify sha256, as Flux does); malformed entries make the whole answer a protocol error.
 */
export function indexDescriptors(bytes: Uint8Array, what: string): Descriptor[] {
  const index = parseJsonObject(bytes);
  const manifests = index?.manifests;
  if (!Array.isArray(manifests))
    throw new PinwardenError('PW_REGISTRY_PROTOCOL', `${what}: not an image index (no manifests list)`);
  const descriptors: Descriptor[] = [];
  for (const entry of manifests as unknown[]) {
    const descriptor = toDescriptor(entry, what);
    if (descriptor) descriptors.push(descriptor);
  }
  return descriptors;
}

function toDescriptor(entry: unknown, what: string): Descriptor | undefined {
  if (entry === null || typeof entry !== 'object') throw malformed(what);
  const { mediaType, digest, size, artifactType, annotations } = entry as Record<string, unknown>;
  if (
    typeof mediaType !== 'string' ||
    typeof digest !== 'string' ||
    typeof size !== 'number' ||
    !Number.isSafeInteger(size) ||
    size < 0
  ) {
    throw malformed(what);
  }
  if (!digest.startsWith('sha256:')) return undefined;
  if (!isDigest(digest)) throw malformed(what);
  const descriptor: Descriptor = { mediaType, digest, size };
  if (typeof artifactType === 'string') descriptor.artifactType = artifactType;
  if (isStringRecord(annotations)) descriptor.annotations = annotations;
  return descriptor;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return value !== null && typeof value === 'object' && Object.values(value).every((item) => typeof item === 'string');
}

function malformed(what: string): PinwardenError {
  return new PinwardenError('PW_REGISTRY_PROTOCOL', `${what}: malformed descriptor in image index`);
}
