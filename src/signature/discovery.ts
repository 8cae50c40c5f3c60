/**
 * Finds signature candidates for one artifact digest, lazily and under caps: first Sigstore bundles attached
 * as OCI referrers (the Repository falls back to the `sha256-<hex>` tag schema itself), then the layers of the
 * legacy `sha256-<hex>.sig` image. Candidates are yielded one at a time so the caller stops fetching once one
 * verifies. Problems with a whole source (oversized or garbage `.sig` manifest, odd referrers answer) become
 * failure reasons; transient registry errors propagate, because "could not look" is not "unsigned".
 */
import type { ErrorCode } from '../core/errors.ts';
import { PinwardenError, isPinwardenError, isTransient } from '../core/errors.ts';
import type { Call, Descriptor, Repository } from '../oci/index.ts';
import { MEDIA_TYPES } from '../oci/index.ts';
import { reasonOf, signatureError } from './failure.ts';
import type { FailureReason, SignatureLimits } from './types.ts';

export const SIGSTORE_BUNDLE_MEDIA_PREFIX = 'application/vnd.dev.sigstore.bundle';

export type Candidate =
  { kind: 'bundle'; label: string; manifest: Descriptor } | { kind: 'legacy'; label: string; layer: Descriptor };

/** What discovery learnt besides the candidates; filled while the generator runs. */
export interface DiscoveryLog {
  failures: FailureReason[];
  untried: number;
}

export function legacySignatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

export async function* discoverCandidates(
  repository: Repository,
  subject: Descriptor,
  limits: SignatureLimits,
  call: Call,
  log: DiscoveryLog,
): AsyncGenerator<Candidate> {
  let budget = limits.maxCandidates;
  const referrers = await bundleReferrers(repository, subject, call, log);
  for (const [index, manifest] of referrers.entries()) {
    if (budget === 0) {
      log.untried += referrers.length - index;
      break;
    }
    budget -= 1;
    yield { kind: 'bundle', label: `bundle ${manifest.digest}`, manifest };
  }
  const tag = legacySignatureTag(subject.digest);
  const layers = await legacyLayers(repository, tag, limits, call, log);
  for (const [index, layer] of layers.entries()) {
    if (budget === 0) {
      log.untried += layers.length - index;
      break;
    }
    budget -= 1;
    yield { kind: 'legacy', label: `legacy ${tag} layer ${index}`, layer };
  }
}

async function bundleReferrers(
  repository: Repository,
  subject: Descriptor,
  call: Call,
  log: DiscoveryLog,
): Promise<Descriptor[]> {
  try {
    const all = await repository.referrers(subject, undefined, call);
    // Other artifact types (SBOMs, notation…) are not signatures; an unlabelled referrer has to be looked at.
    return all.filter(
      (referrer) =>
        referrer.artifactType === undefined || referrer.artifactType.startsWith(SIGSTORE_BUNDLE_MEDIA_PREFIX),
    );
  } catch (error) {
    if (notFound(error)) return [];
    rethrowIfUndecidable(error, call);
    const candidate = `referrers of ${subject.digest}`;
    // A foreign error here comes from parsing what the registry sent (not from sigstore-js): its type only.
    log.failures.push(
      isPinwardenError(error)
        ? reasonOf(candidate, error)
        : {
            candidate,
            code: 'PW_SIGNATURE_INVALID',
            subCode: 'MANIFEST_ERROR',
            message: `the referrers answer is not valid (${error instanceof Error ? error.name : typeof error})`,
          },
    );
    return [];
  }
}

async function legacyLayers(
  repository: Repository,
  tag: string,
  limits: SignatureLimits,
  call: Call,
  log: DiscoveryLog,
): Promise<Descriptor[]> {
  try {
    const descriptor = await repository.resolve(tag, call);
    assertWithinCap(descriptor.size, limits.maxManifestBytes, `legacy signature manifest ${tag}`);
    const { bytes } = await repository.fetchManifest(descriptor.digest, call);
    assertWithinCap(bytes.byteLength, limits.maxManifestBytes, `legacy signature manifest ${tag}`);
    return imageManifestLayers(bytes, `legacy signature manifest ${tag}`);
  } catch (error) {
    if (notFound(error)) return [];
    rethrowIfUndecidable(error, call);
    log.failures.push(reasonOf(`legacy ${tag}`, error));
    return [];
  }
}

export function assertWithinCap(size: number, cap: number, what: string): void {
  if (size > cap) throw new PinwardenError('PW_TOO_LARGE', `${what} is ${size} bytes, over the cap of ${cap}`);
}

/** Parses an image manifest just enough to list its layers; anything else is garbage at a signature tag. */
export function imageManifestLayers(bytes: Uint8Array, what: string): Descriptor[] {
  const manifest = parseJsonObject(bytes, what);
  const mediaType = manifest.mediaType ?? MEDIA_TYPES.ociManifest;
  const isImageManifest = mediaType === MEDIA_TYPES.ociManifest || mediaType === MEDIA_TYPES.dockerManifest;
  if (!isImageManifest || manifest.schemaVersion !== 2 || !Array.isArray(manifest.layers)) {
    throw signatureError('MANIFEST_ERROR', `${what} is not an OCI image manifest`);
  }
  return manifest.layers.map((layer, index) => descriptorAt(layer, `${what} layer ${index}`));
}

export interface ParsedManifest {
  mediaType?: string;
  schemaVersion?: unknown;
  layers?: unknown[];
  subject?: { digest?: unknown };
  artifactType?: unknown;
}

export function parseJsonObject(bytes: Uint8Array, what: string): ParsedManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw signatureError('MANIFEST_ERROR', `${what} is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw signatureError('MANIFEST_ERROR', `${what} is not a JSON object`);
  }
  return parsed;
}

export function descriptorAt(value: unknown, what: string): Descriptor {
  const layer = value as Partial<Descriptor> | null;
  const valid =
    typeof layer?.mediaType === 'string' &&
    typeof layer.digest === 'string' &&
    /^sha256:[a-f0-9]{64}$/.test(layer.digest) &&
    Number.isSafeInteger(layer.size) &&
    (layer.size ?? -1) >= 0;
  if (!valid) throw signatureError('MANIFEST_ERROR', `${what} is not a valid descriptor`);
  const annotations = layer.annotations;
  const stringMap =
    typeof annotations === 'object' &&
    annotations !== null &&
    Object.values(annotations).every((v) => typeof v === 'string');
  return {
    mediaType: layer.mediaType!,
    digest: layer.digest!,
    size: layer.size!,
    ...(stringMap ? { annotations: { ...annotations } } : {}),
  };
}

const NOT_FOUND: readonly ErrorCode[] = ['PW_MANIFEST_UNKNOWN'];
const CANDIDATE_LEVEL: readonly ErrorCode[] = ['PW_MANIFEST_UNKNOWN', 'PW_REGISTRY_PROTOCOL'];

function notFound(error: unknown): boolean {
  return isPinwardenError(error) && NOT_FOUND.includes(error.code);
}

/** Registry down, deadline, auth, rate limit: the verification cannot be decided, so it must not fail "unsigned". */
export function rethrowIfUndecidable(error: unknown, call: Call): void {
  if (call.signal.aborted) throw error;
  if (isPinwardenError(error) && isTransient(error) && !CANDIDATE_LEVEL.includes(error.code)) throw error;
}
