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

/** The Content-Type when it names a manifest type, else the body's own `mediaType` field. */
export function manifestMediaType(contentType: string | undefined, bytes: Uint8Array): string | undefined {
  const header = bareMediaType(contentType);
  if (header !== undefined && MANIFEST_MEDIA_TYPES.includes(header)) return header;
  const declared = parseJsonObject(bytes)?.mediaType;
  if (typeof declared === 'string' && declared !== '') return declared;
  return header;
}

export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
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
  if (!Array.isArray(manifests)) throw new PinwardenError('PW_REGISTRY_PROTOCOL', `${what}: not an image index (no manifests list)`);
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
  if (typeof mediaType !== 'string' || typeof digest !== 'string' || typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
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
