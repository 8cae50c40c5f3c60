/**
 * Legacy cosign signatures (one layer of the `sha256-<hex>.sig` image: a simple-signing payload blob, the
 * material in layer annotations). Keyless ones are converted to a Sigstore bundle v0.1 (hashedrekord entry +
 * inclusion promise from `dev.sigstore.cosign/bundle`; v0.1 is the only version that allows a SET without an
 * inclusion proof) and verified like any bundle. Key-based ones are a plain signature check over the payload
 * bytes, as in Flux, unless the tlog is required: then they go through the same bundle path with the key.
 * The RFC 3161 annotation is ignored, as cosign does without `--use-signed-timestamps` (Flux never sets it).
 */
import { createHash } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import { assertSimpleSigningNames } from './binding.ts';
import type { BundleOutcome, SignerPolicy } from './bundle-verify.ts';
import { parseBundle, verifyBundle } from './bundle-verify.ts';
import { verifyPayloadSignature } from './keys.ts';
import { firstPemBlock } from './pem.ts';
import { signatureError } from './failure.ts';
import { sigstoreBundle } from './sigstore.ts';

export const LEGACY_ANNOTATIONS = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
} as const;

export interface LegacySignature {
  /** The exact payload blob bytes (already size- and digest-checked against the layer descriptor). */
  payload: Uint8Array;
  annotations: Readonly<Record<string, string>>;
}

/** The `dev.sigstore.cosign/bundle` annotation: Rekor's offline inclusion proof (SET). */
interface RekorBundleAnnotation {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

export function verifyLegacySignature(signature: LegacySignature, digest: string, signer: SignerPolicy): BundleOutcome {
  assertSimpleSigningNames(signature.payload, digest);
  const signatureB64 = requireAnnotation(signature, 'signature');
  if (signer.mode === 'key' && !signer.requireTlog) return verifyWithKeysOnly(signature, signatureB64, signer.keys);
  const material =
    signer.mode === 'keyless' ? { certificate: requireAnnotation(signature, 'certificate') } : { keyHint: '' };
  const bundle = parseBundle(legacyToBundleJson(signature, material));
  return verifyBundle(bundle, { artifact: signature.payload }, signer);
}

function verifyWithKeysOnly(
  signature: LegacySignature,
  signatureB64: string,
  keys: Extract<SignerPolicy, { mode: 'key' }>['keys'],
): BundleOutcome {
  const raw = Buffer.from(signatureB64, 'base64');
  const key = keys.find((candidate) => verifyPayloadSignature(candidate, signature.payload, raw));
  if (!key) {
    throw signatureError(
      'SIGNATURE_ERROR',
      `signature does not verify with any configured key (${keys.map((k) => k.name).join(', ')})`,
    );
  }
  return { mode: 'key', subjects: [], keyName: key.name };
}

/** The conversion table of sigstore.md §3.7. The Rekor body is passed through byte-exact. */
export function legacyToBundleJson(
  signature: LegacySignature,
  material: { certificate: string } | { keyHint: string },
): SerializedBundle {
  const rekor = parseRekorAnnotation(requireAnnotation(signature, 'bundle'));
  const body = decodeBody(rekor.Payload.body);
  return {
    mediaType: sigstoreBundle().BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      ...('certificate' in material
        ? { x509CertificateChain: { certificates: [{ rawBytes: certificateDerBase64(material.certificate) }] } }
        : { publicKey: { hint: material.keyHint } }),
      tlogEntries: [
        {
          logIndex: String(rekor.Payload.logIndex),
          logId: { keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64') },
          kindVersion: { kind: body.kind, version: body.apiVersion },
          integratedTime: String(rekor.Payload.integratedTime),
          inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
          inclusionProof: undefined,
          canonicalizedBody: rekor.Payload.body,
        },
      ],
      timestampVerificationData: undefined,
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(signature.payload).digest('base64') },
      signature: requireAnnotation(signature, 'signature'),
    },
  } as SerializedBundle;
}

function requireAnnotation(signature: LegacySignature, which: keyof typeof LEGACY_ANNOTATIONS): string {
  const value = signature.annotations[LEGACY_ANNOTATIONS[which]];
  if (value === undefined || value === '') {
    throw signatureError('BUNDLE_ERROR', legacyMissingMessage(which));
  }
  return value;
}

function legacyMissingMessage(which: keyof typeof LEGACY_ANNOTATIONS): string {
  const name = LEGACY_ANNOTATIONS[which];
  if (which === 'certificate') return `no ${name} annotation: not a keyless signature`;
  if (which === 'bundle') return `no ${name} annotation: the transparency log entry cannot be verified offline`;
  return `no ${name} annotation`;
}

function parseRekorAnnotation(text: string): RekorBundleAnnotation {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw signatureError('BUNDLE_ERROR', `${LEGACY_ANNOTATIONS.bundle} annotation is not JSON`);
  }
  const candidate = parsed as Partial<RekorBundleAnnotation> | null;
  const payload = candidate?.Payload;
  const wellFormed =
    typeof candidate?.SignedEntryTimestamp === 'string' &&
    typeof payload?.body === 'string' &&
    Number.isSafeInteger(payload.integratedTime) &&
    Number.isSafeInteger(payload.logIndex) &&
    typeof payload.logID === 'string' &&
    /^[0-9a-f]{64}$/.test(payload.logID);
  if (!wellFormed) throw signatureError('BUNDLE_ERROR', `${LEGACY_ANNOTATIONS.bundle} annotation is malformed`);
  return candidate as RekorBundleAnnotation;
}

function decodeBody(base64Body: string): { kind: string; apiVersion: string } {
  try {
    const body = JSON.parse(Buffer.from(base64Body, 'base64').toString('utf8')) as {
      kind?: unknown;
      apiVersion?: unknown;
    };
    if (typeof body.kind === 'string' && typeof body.apiVersion === 'string')
      return { kind: body.kind, apiVersion: body.apiVersion };
  } catch {
    // reported below
  }
  throw signatureError('TLOG_BODY_ERROR', 'Rekor entry body in the bundle annotation is not a Rekor entry');
}

/** The leaf only: the chain annotation is informational, trust comes from the trusted root. */
function certificateDerBase64(pemText: string): string {
  const block = firstPemBlock(pemText);
  if (block?.label !== 'CERTIFICATE') {
    throw signatureError('CERTIFICATE_ERROR', `${LEGACY_ANNOTATIONS.certificate} annotation is not a PEM certificate`);
  }
  return block.der.toString('base64');
}
