/**
 * The artifact binding sigstore-js leaves to the caller: a DSSE bundle proves only that *some* in-toto
 * statement was signed, so one of its subjects must carry this artifact's digest; a message-signature bundle's
 * `messageDigest` is compared by sigstore-js with the tlog entry only, never with the artifact, so we hash the
 * artifact ourselves. Legacy simple-signing payloads must name the artifact in `docker-manifest-digest`.
 */
import { createHash } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import type { HashAlgorithm } from '@sigstore/protobuf-specs';
import { PinwardenError } from '../core/errors.ts';
import { signatureError } from './failure.ts';
import { protobufSpecs } from './sigstore.ts';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';
/** The in-toto predicate type `cosign sign` (v3 bundle format) writes; `cosign attest` writes anything else. */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

/** What a signature must be about: the artifact bytes and/or an `algorithm:hex` digest. */
export interface BundleTarget {
  artifact?: Uint8Array;
  /** `sha256:<hex>` (the OCI digest), or `sha384:`/`sha512:`; defaults to sha256 of `artifact`. */
  digest?: string;
}

/** Node hash names for the protobuf HashAlgorithm of a message-signature bundle (sigstore-js uses the same map). */
function nodeHashName(algorithm: HashAlgorithm): string {
  const { HashAlgorithm: Algorithms } = protobufSpecs();
  const names: ReadonlyMap<HashAlgorithm, string> = new Map([
    [Algorithms.HASH_ALGORITHM_UNSPECIFIED, 'sha256'],
    [Algorithms.SHA2_256, 'sha256'],
    [Algorithms.SHA2_384, 'sha384'],
    [Algorithms.SHA2_512, 'sha512'],
    [Algorithms.SHA3_256, 'sha3-256'],
    [Algorithms.SHA3_384, 'sha3-384'],
  ]);
  return names.get(algorithm) ?? 'sha256';
}

export function assertBundleNamesTarget(bundle: Bundle, target: BundleTarget): void {
  const content = bundle.content;
  if (content.$case === 'dsseEnvelope') {
    const { payloadType, payload } = content.dsseEnvelope;
    if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      throw signatureError('PAYLOAD_ERROR', `DSSE payload type is ${payloadType}, expected ${IN_TOTO_PAYLOAD_TYPE}`);
    }
    assertStatementNames(payload, targetDigest(target));
    return;
  }
  const { artifact } = target;
  if (artifact === undefined) {
    throw signatureError(
      'BUNDLE_ERROR',
      'bundle holds a message signature, not a DSSE envelope: it cannot name an OCI digest',
    );
  }
  const { algorithm, digest } = content.messageSignature.messageDigest ?? {
    algorithm: protobufSpecs().HashAlgorithm.SHA2_256,
    digest: Buffer.alloc(0),
  };
  const hashName = nodeHashName(algorithm);
  const actual = createHash(hashName).update(artifact).digest();
  if (!actual.equals(Buffer.from(digest))) {
    throw new PinwardenError(
      'PW_DIGEST_MISMATCH',
      `bundle message digest ${Buffer.from(digest).toString('hex')} is not the ${hashName} of the artifact (${actual.toString('hex')})`,
    );
  }
}

/**
 * An OCI signature bundle and an attestation differ only in the statement's predicate type (cosign pushes both
 * as the same kind of referrer). Only `cosign/sign/v1` is a signature: an SLSA provenance or a vulnerability
 * scan signed by an allowed identity says something else about the artifact. Stricter on purpose than Flux and
 * than cosign v3.1.3's `verify --key`, which accept any predicate (test/integration/cosign/interop.test.ts).
 */
export function assertCosignSignatureStatement(bundle: Bundle): void {
  if (bundle.content.$case !== 'dsseEnvelope') return;
  const predicateType = (parseStatement(bundle.content.dsseEnvelope.payload) as { predicateType?: unknown } | null)
    ?.predicateType;
  if (predicateType !== COSIGN_SIGN_PREDICATE_TYPE) {
    const shown = typeof predicateType === 'string' ? JSON.stringify(predicateType.slice(0, 100)) : 'none';
    throw signatureError(
      'PAYLOAD_ERROR',
      `bundle is an attestation (predicate type ${shown}), not a cosign signature (${COSIGN_SIGN_PREDICATE_TYPE})`,
    );
  }
}

function parseStatement(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    throw signatureError('PAYLOAD_ERROR', 'DSSE payload is not a JSON in-toto statement');
  }
}

function targetDigest(target: BundleTarget): { algorithm: string; hex: string } {
  if (target.digest !== undefined) {
    const match = /^(sha256|sha384|sha512):([a-f0-9]+)$/.exec(target.digest.toLowerCase());
    if (!match) throw new PinwardenError('PW_INPUT_INVALID', `unsupported artifact digest ${target.digest}`);
    return { algorithm: match[1]!, hex: match[2]! };
  }
  if (target.artifact === undefined)
    throw new PinwardenError('PW_INPUT_INVALID', 'no artifact or digest to verify against');
  return { algorithm: 'sha256', hex: createHash('sha256').update(target.artifact).digest('hex') };
}

function assertStatementNames(payload: Buffer, want: { algorithm: string; hex: string }): void {
  const statement = parseStatement(payload);
  const subjects = (statement as { subject?: unknown } | null)?.subject;
  if (!Array.isArray(subjects)) throw signatureError('PAYLOAD_ERROR', 'in-toto statement has no subject list');
  const named = subjects.flatMap((subject: unknown) => {
    const digests = (subject as { digest?: unknown } | null)?.digest;
    if (typeof digests !== 'object' || digests === null) return [];
    return Object.entries(digests as Record<string, unknown>).map(
      ([alg, hex]) => `${alg}:${String(hex).toLowerCase()}`,
    );
  });
  if (!named.includes(`${want.algorithm}:${want.hex}`)) {
    throw new PinwardenError(
      'PW_DIGEST_MISMATCH',
      `signed statement is about [${named.join(', ')}], not ${want.algorithm}:${want.hex}`,
    );
  }
}

/** Legacy simple-signing claims (cosign's SimpleClaimVerifier; Flux skips it, we do not). */
export function assertSimpleSigningNames(payload: Uint8Array, digest: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw signatureError('PAYLOAD_ERROR', 'simple-signing payload is not JSON');
  }
  const critical = (parsed as { critical?: { type?: unknown; image?: Record<string, unknown> } } | null)?.critical;
  if (critical?.type !== COSIGN_SIGNATURE_TYPE) {
    throw signatureError(
      'PAYLOAD_ERROR',
      `simple-signing payload type is ${JSON.stringify(critical?.type)}, expected '${COSIGN_SIGNATURE_TYPE}'`,
    );
  }
  const signed = critical.image?.['docker-manifest-digest'];
  if (signed !== digest) {
    throw new PinwardenError('PW_DIGEST_MISMATCH', `signature payload is for ${JSON.stringify(signed)}, not ${digest}`);
  }
}
