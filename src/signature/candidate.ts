/**
 * Verifies one discovered candidate, verified bytes first: every manifest and blob is fetched by digest
 * (the Repository checks size and sha256) under its cap, and only then parsed. A referrer must be a cosign
 * bundle referrer (one `application/vnd.dev.sigstore.bundle*` layer, subject = this digest) holding a
 * bundle ≥ v0.3 with a DSSE envelope whose statement is a cosign signature (predicate `cosign/sign/v1`, not
 * an attestation); a legacy layer must be a simple-signing payload.
 */
import { PinwardenError } from '../core/errors.ts';
import type { Call, Descriptor, Digest, Repository } from '../oci/index.ts';
import { MEDIA_TYPES, fetchAll } from '../oci/index.ts';
import type { BundleOutcome, SignerPolicy } from './bundle-verify.ts';
import { parseBundleBytes, verifyBundle } from './bundle-verify.ts';
import { assertCosignSignatureStatement } from './binding.ts';
import type { Candidate } from './discovery.ts';
import { SIGSTORE_BUNDLE_MEDIA_PREFIX, assertWithinCap, descriptorAt, parseJsonObject } from './discovery.ts';
import { verifyLegacySignature } from './legacy.ts';
import type { SignatureKind, SignatureLimits } from './types.ts';
import { signatureError } from './failure.ts';
import { sigstoreBundle } from './sigstore.ts';

export interface CandidateContext {
  repository: Repository;
  subject: Descriptor;
  signer: SignerPolicy;
  limits: SignatureLimits;
  call: Call;
}

export interface CandidateOutcome extends BundleOutcome {
  kind: SignatureKind;
  source: Digest;
}

/** Resolves to null for a referrer that is not a signature at all (cosign skips those silently). */
export async function verifyCandidate(
  candidate: Candidate,
  context: CandidateContext,
): Promise<CandidateOutcome | null> {
  if (candidate.kind === 'legacy') return verifyLegacyLayer(candidate.layer, context);
  return verifyBundleReferrer(candidate.manifest, context);
}

async function verifyLegacyLayer(layer: Descriptor, context: CandidateContext): Promise<CandidateOutcome> {
  if (layer.mediaType !== MEDIA_TYPES.cosignSimpleSigning) {
    throw signatureError('PAYLOAD_ERROR', `layer media type ${layer.mediaType} is not a cosign simple-signing payload`);
  }
  assertWithinCap(layer.size, context.limits.maxPayloadBytes, `signature payload ${layer.digest}`);
  const payload = await fetchAll(context.repository, layer, context.call, context.limits.maxPayloadBytes);
  const outcome = verifyLegacySignature(
    { payload, annotations: layer.annotations ?? {} },
    context.subject.digest,
    context.signer,
  );
  return { ...outcome, kind: 'legacy', source: layer.digest };
}

async function verifyBundleReferrer(referrer: Descriptor, context: CandidateContext): Promise<CandidateOutcome | null> {
  const { limits, repository, call } = context;
  assertWithinCap(referrer.size, limits.maxManifestBytes, `referrer manifest ${referrer.digest}`);
  const { bytes } = await repository.fetchManifest(referrer.digest, call);
  assertWithinCap(bytes.byteLength, limits.maxManifestBytes, `referrer manifest ${referrer.digest}`);
  const layer = bundleLayer(bytes, referrer.digest, context.subject.digest);
  if (!layer) return null;
  assertWithinCap(layer.size, limits.maxBundleBytes, `bundle ${layer.digest}`);
  const bundle = parseBundleBytes(await fetchAll(repository, layer, call, limits.maxBundleBytes));
  const { BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE } = sigstoreBundle();
  if (bundle.mediaType !== BUNDLE_V03_MEDIA_TYPE && bundle.mediaType !== BUNDLE_V03_LEGACY_MEDIA_TYPE) {
    throw signatureError(
      'BUNDLE_ERROR',
      `bundle ${bundle.mediaType} is older than v0.3, which cosign requires for OCI signatures`,
    );
  }
  if (bundle.content.$case !== 'dsseEnvelope') {
    throw signatureError('BUNDLE_ERROR', 'bundle does not contain a DSSE envelope');
  }
  assertCosignSignatureStatement(bundle);
  const outcome = verifyBundle(bundle, { digest: context.subject.digest }, context.signer);
  return { ...outcome, kind: 'bundle', source: referrer.digest };
}

/** cosign `Bundle()`: exactly one layer whose media type starts with the bundle prefix, else not a bundle. */
function bundleLayer(bytes: Uint8Array, referrer: Digest, subject: Digest): Descriptor | undefined {
  const what = `referrer manifest ${referrer}`;
  const manifest = parseJsonObject(bytes, what);
  const layers = Array.isArray(manifest.layers) ? manifest.layers : [];
  if (layers.length !== 1) return undefined;
  const layer = descriptorAt(layers[0], `${what} layer 0`);
  if (!layer.mediaType.startsWith(SIGSTORE_BUNDLE_MEDIA_PREFIX)) return undefined;
  if (manifest.subject?.digest !== subject) {
    throw new PinwardenError(
      'PW_DIGEST_MISMATCH',
      `${what} is attached to ${String(manifest.subject?.digest)}, not ${subject}`,
    );
  }
  return layer;
}
