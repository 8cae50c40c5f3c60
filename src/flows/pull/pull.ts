/**
 * `pullArtifact`: fetch one Flux OCI artifact by digest, check it, verify it, and only then extract it — the one
 * pull path shared by `pinwarden pull` and the controller's OCIRepository reconciler.
 *
 * 1. The manifest is read by digest (its bytes must hash to it, and match the descriptor's size when one is
 *    given); it must be an image manifest (not an index) with well-formed `config` and `layers` descriptors.
 * 2. The layer is chosen as source-controller chooses it (`layerSelector.mediaType`: the first layer of that media
 *    type, else layer 0; Flux's message when none matches).
 * 3. The config blob is fetched and checked by digest and size (small: `fetchAll`).
 * 4. The signature is verified, with the same checks as `pinwarden verify` and verifyAtAdmission
 *    (`verifyWithChecks`: commit binding against the manifest's own annotations, claim patterns), BEFORE any
 *    layer byte is requested.
 * 5. The layer streams from the registry through its size and digest check into the extractor (`extract`) or a
 *    file (`copy`), in a temporary directory beside the destination that is renamed into place only after the
 *    stream ended cleanly, i.e. after the layer's digest matched; on any failure nothing is left.
 */
import type { BindingDecision } from '../../core/binding/index.ts';
import { PinwardenError } from '../../core/errors.ts';
import { DEFAULT_EXTRACT_LIMITS, copyStream, extractTarGzip } from '../../artifact/index.ts';
import type { ExtractLimits } from '../../artifact/index.ts';
import { MEDIA_TYPES, fetchAll, isDigest } from '../../oci/index.ts';
import type { Call, Descriptor, Digest, Repository } from '../../oci/index.ts';
import { verifyArtifactSignature } from '../../signature/index.ts';
import type { OciVerifyBlock, VerifiedSignature, VerifySignatureOptions } from '../../signature/index.ts';
import { verifyWithChecks } from './binding.ts';
import type { SignatureChecks, SignatureVerifier } from './binding.ts';

/** Flux `spec.layerSelector`. */
export interface LayerSelector {
  mediaType?: string;
  /** `extract` (default) untars the layer; `copy` stores the compressed blob unchanged as `<hex>.tgz`. */
  operation?: 'extract' | 'copy';
}

export interface PullVerification {
  block: OciVerifyBlock;
  /** Keys, trust roots, tlog requirement (the call and the judge are the flow's). */
  options: Omit<VerifySignatureOptions, 'call' | 'judge'>;
  /** Commit binding mode and claim identities; the manifest's annotations are filled in by the flow. */
  checks: SignatureChecks;
  /** The signature room's verifier (default `verifyArtifactSignature`; tests inject one). */
  verify?: SignatureVerifier;
}

export interface PullArtifactRequest {
  repository: Repository;
  /** The manifest digest, or its descriptor (then its size is checked too). Tags are resolved by the caller. */
  subject: Digest | Descriptor;
  /** Undefined only when the caller decided that this artifact is not verified (an OCIRepository without `spec.verify`). */
  verification: PullVerification | undefined;
  layerSelector?: LayerSelector;
  /** Absent or an empty directory; its parent must exist. */
  destination: string;
  /** Extraction caps (defaults: `DEFAULT_EXTRACT_LIMITS`); `maxBytes` also caps the compressed layer. */
  limits?: Partial<ExtractLimits>;
  call: Call;
}

export interface PulledArtifact {
  digest: Digest;
  /** The manifest's descriptor (size = manifest bytes). */
  manifestDescriptor: Descriptor;
  /** The parsed image manifest. */
  manifest: Record<string, unknown>;
  /** The manifest's string annotations (Flux copies them into `status.artifact.metadata`). */
  annotations: Record<string, string>;
  /** The layer that was extracted or copied. */
  layer: Descriptor;
  operation: 'extract' | 'copy';
  /** The layer's compressed size (Flux `status.artifact.size` counts the stored archive). */
  size: number;
  directory: string;
  /** `copy`: the stored blob. */
  file?: string;
  /** `extract`: regular files written and their bytes. */
  files?: number;
  bytes?: number;
  /** Skipped links, a commit binding in `warn` mode that did not hold. */
  warnings: string[];
  /** Absent when not verified. */
  signature?: VerifiedSignature;
  binding?: BindingDecision;
}

const MAX_CONFIG_BYTES = 1024 * 1024;
const IMAGE_MANIFESTS: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];

export async function pullArtifact(request: PullArtifactRequest): Promise<PulledArtifact> {
  const { repository, call } = request;
  const wanted = typeof request.subject === 'string' ? undefined : request.subject;
  const digest = typeof request.subject === 'string' ? request.subject : request.subject.digest;
  if (!isDigest(digest))
    throw new PinwardenError(
      'PW_REF_INVALID',
      `'${String(digest).slice(0, 80)}' is not a sha256 digest; pull fetches by digest`,
    );
  const operation = request.layerSelector?.operation ?? 'extract';
  if (operation !== 'extract' && operation !== 'copy')
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `layerSelector.operation must be extract or copy, got '${String(operation).slice(0, 40)}'`,
    );
  const limits = { ...DEFAULT_EXTRACT_LIMITS, ...request.limits };

  // 1. The manifest, by digest: HttpRepository and the memory fake both refuse bytes that do not hash to it.
  const fetched = await repository.fetchManifest(digest, call);
  if (fetched.descriptor.digest !== digest)
    throw new PinwardenError(
      'PW_DIGEST_MISMATCH',
      `manifest ${digest}: the registry returned ${fetched.descriptor.digest}`,
    );
  if (wanted !== undefined && fetched.bytes.byteLength !== wanted.size) {
    throw new PinwardenError(
      'PW_DIGEST_MISMATCH',
      `manifest ${digest}: ${fetched.bytes.byteLength} bytes, the descriptor says ${wanted.size}`,
    );
  }
  const manifest = parseImageManifest(fetched.bytes, fetched.descriptor.mediaType, digest);
  const annotations = stringRecord(manifest.annotations);
  const config = descriptorAt(manifest.config, `manifest ${digest}: config`);
  const layers = (manifest.layers as unknown[]).map((layer, index) =>
    descriptorAt(layer, `manifest ${digest}: layers[${index}]`),
  );
  const layer = selectLayer(layers, request.layerSelector?.mediaType, digest);
  if (layer.size > limits.maxBytes) {
    throw new PinwardenError(
      'PW_TOO_LARGE',
      `layer ${layer.digest} is ${layer.size} bytes, over the ${limits.maxBytes}-byte cap`,
      { details: { size: layer.size, cap: limits.maxBytes } },
    );
  }

  // 2. The config blob, checked by digest and size (it is small; nothing reads it further).
  await fetchAll(repository, config, call, MAX_CONFIG_BYTES);

  // 3. Verification, before a single layer byte is asked for.
  const warnings: string[] = [];
  let verified: { signature: VerifiedSignature; binding?: BindingDecision } | undefined;
  if (request.verification) {
    const { block, options, checks } = request.verification;
    verified = await verifyWithChecks(
      request.verification.verify ?? verifyArtifactSignature,
      repository,
      fetched.descriptor,
      block,
      { ...options, call },
      { ...checks, annotations },
    );
    if (verified.binding?.action === 'warn') warnings.push(verified.binding.message);
  }

  // 4. The layer, streamed through its digest check into a temporary directory renamed into place at the end.
  const stream = await repository.fetch(layer, call, { maxBytes: limits.maxBytes });
  const base = {
    digest,
    manifestDescriptor: fetched.descriptor,
    manifest,
    annotations,
    layer,
    operation,
    size: layer.size,
    ...(verified ? { signature: verified.signature, ...(verified.binding ? { binding: verified.binding } : {}) } : {}),
  };
  if (operation === 'copy') {
    const copied = await copyStream(stream, request.destination, `${layer.digest.slice('sha256:'.length)}.tgz`, {
      maxBytes: limits.maxBytes,
      signal: call.signal,
    });
    return { ...base, directory: copied.directory, file: copied.file, warnings };
  }
  const extracted = await extractTarGzip(stream, request.destination, { limits, signal: call.signal });
  return {
    ...base,
    directory: extracted.directory,
    files: extracted.files,
    bytes: extracted.bytes,
    warnings: [...warnings, ...extracted.warnings],
  };
}

/** source-controller `selectLayer`: the first layer of the media type, else layer 0. */
function selectLayer(layers: readonly Descriptor[], mediaType: string | undefined, digest: Digest): Descriptor {
  if (mediaType !== undefined && mediaType !== '') {
    const found = layers.find((layer) => layer.mediaType === mediaType);
    if (!found)
      throw new PinwardenError(
        'PW_ARTIFACT_INVALID',
        `failed to find layer with media type '${mediaType.slice(0, 200)}' in artifact ${digest}`,
      );
    return found;
  }
  const first = layers[0];
  if (!first) throw new PinwardenError('PW_ARTIFACT_INVALID', `artifact ${digest} has no layers`);
  return first;
}

function parseImageManifest(bytes: Uint8Array, mediaType: string, digest: Digest): Record<string, unknown> {
  if (!IMAGE_MANIFESTS.includes(mediaType)) {
    throw new PinwardenError(
      'PW_ARTIFACT_INVALID',
      `${digest} is a ${mediaType.slice(0, 100)}, not an image manifest; pull the artifact's own manifest digest`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new PinwardenError('PW_ARTIFACT_INVALID', `manifest ${digest} is not JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new PinwardenError('PW_ARTIFACT_INVALID', `manifest ${digest} is not a JSON object`);
  const manifest = parsed as Record<string, unknown>;
  if (!Array.isArray(manifest.layers))
    throw new PinwardenError('PW_ARTIFACT_INVALID', `manifest ${digest} has no layers list`);
  return manifest;
}

function descriptorAt(value: unknown, what: string): Descriptor {
  const entry = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  const { mediaType, digest, size } = entry ?? {};
  if (
    typeof mediaType !== 'string' ||
    typeof digest !== 'string' ||
    !isDigest(digest) ||
    typeof size !== 'number' ||
    !Number.isSafeInteger(size) ||
    size < 0
  ) {
    throw new PinwardenError('PW_ARTIFACT_INVALID', `${what} is not a sha256 descriptor with a media type and a size`);
  }
  return { mediaType, digest, size };
}

function stringRecord(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
