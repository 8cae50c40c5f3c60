/**
 * Verifies one Sigstore bundle (any version sigstore-js accepts; legacy cosign signatures arrive here
 * converted to v0.1) for one artifact, offline: sigstore-js does chain, SCT, tlog inclusion, timestamps and
 * signature; then our own checks (checks.ts, binding.ts) and the identity policy. Keyless uses thresholds
 * tlog 1 / timestamp 1 / SCT 1 (0 only for a custom root without CT logs: a private Fulcio without CT);
 * key-based verification strips tlog entries and timestamps unless the policy requires the tlog (Flux
 * ignores the tlog for keys).
 */
import type { Bundle } from '@sigstore/bundle';
import type { TrustMaterial } from '@sigstore/verify';
import { PinwardenError } from '../core/errors.ts';
import type { SignatureReason } from '../core/errors.ts';
import type { BundleTarget } from './binding.ts';
import { assertBundleNamesTarget } from './binding.ts';
import { certificateFacts } from './certificate.ts';
import {
  assertBundleWellFormed,
  assertCodeSigning,
  assertIntegratedWithinValidity,
  assertLoggedSignerMatches,
} from './checks.ts';
import { describeSigstoreError, guardSigstore, signatureError, sigstoreReason } from './failure.ts';
import type { IdentityPolicy } from './identity.ts';
import { assertIdentityAllowed } from './identity.ts';
import type { PublicKeyMaterial } from './keys.ts';
import { keyFinderFor, orderByHint } from './keys.ts';
import type { TrustRoot } from './trust-root.ts';
import type { VerifiedSignature } from './types.ts';
import { sigstoreBundle, sigstoreVerify } from './sigstore.ts';

export type { BundleTarget } from './binding.ts';

export type SignerPolicy =
  | { mode: 'keyless'; identity: IdentityPolicy; trustRoot: TrustRoot }
  | { mode: 'key'; keys: readonly PublicKeyMaterial[]; requireTlog: boolean; trustRoot?: TrustRoot };

/** What a verified bundle tells: the signer fields of `VerifiedSignature`. */
export type BundleOutcome = Pick<
  VerifiedSignature,
  'mode' | 'issuer' | 'subjects' | 'claims' | 'keyName' | 'logIndex' | 'integratedTime'
>;

let knownMediaTypes: ReadonlySet<string> | undefined;

function isKnownMediaType(mediaType: string): boolean {
  const { BUNDLE_V01_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE } =
    sigstoreBundle();
  knownMediaTypes ??= new Set([
    BUNDLE_V01_MEDIA_TYPE,
    BUNDLE_V02_MEDIA_TYPE,
    BUNDLE_V03_LEGACY_MEDIA_TYPE,
    BUNDLE_V03_MEDIA_TYPE,
  ]);
  return knownMediaTypes.has(mediaType);
}

/** protobuf-JSON → Bundle, refusing media types we do not know (sigstore-js only pattern-matches them). */
export function parseBundle(json: unknown): Bundle {
  const mediaType = (json as { mediaType?: unknown } | null)?.mediaType;
  if (typeof mediaType !== 'string' || !isKnownMediaType(mediaType)) {
    throw signatureError('BUNDLE_ERROR', `unsupported bundle media type ${JSON.stringify(mediaType)}`);
  }
  return guardSigstore('bundle', () => sigstoreBundle().bundleFromJSON(json));
}

/** Bundle bytes as fetched (a referrer layer, a file) → Bundle; JSON errors become a named reason. */
export function parseBundleBytes(bytes: Uint8Array): Bundle {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw signatureError('BUNDLE_ERROR', 'bundle is not JSON', 'PW_SIGNATURE_INVALID', error);
  }
  return parseBundle(json);
}

export function verifyBundleJson(json: unknown, target: BundleTarget, signer: SignerPolicy): BundleOutcome {
  return verifyBundle(parseBundle(json), target, signer);
}

export function verifyBundleBytes(bytes: Uint8Array, target: BundleTarget, signer: SignerPolicy): BundleOutcome {
  return verifyBundle(parseBundleBytes(bytes), target, signer);
}

export function verifyBundle(bundle: Bundle, target: BundleTarget, signer: SignerPolicy): BundleOutcome {
  assertBundleWellFormed(bundle);
  assertBundleNamesTarget(bundle, target);
  return signer.mode === 'keyless' ? verifyKeyless(bundle, target, signer) : verifyWithKeys(bundle, target, signer);
}

function verifyKeyless(
  bundle: Bundle,
  target: BundleTarget,
  signer: Extract<SignerPolicy, { mode: 'keyless' }>,
): BundleOutcome {
  const leafDer = leafCertificate(bundle);
  const { Verifier, toSignedEntity } = sigstoreVerify();
  const entity = guardSigstore('bundle', () => toSignedEntity(bundle, artifactBuffer(target)));
  const verifier = new Verifier(signer.trustRoot.material(), {
    tlogThreshold: 1,
    ctlogThreshold: Math.min(1, signer.trustRoot.ctlogCount),
    timestampThreshold: 1,
  });
  guardSigstore('sigstore verification', () => verifier.verify(entity));
  const facts = certificateFacts(leafDer);
  const entries = bundle.verificationMaterial.tlogEntries;
  assertCodeSigning(facts);
  assertLoggedSignerMatches(entries, { certificateDer: facts.der, spki: facts.spki });
  assertIntegratedWithinValidity(entries, facts);
  assertIdentityAllowed(signer.identity, facts);
  return {
    mode: 'keyless',
    issuer: facts.issuer,
    subjects: facts.subjects,
    claims: facts.claims,
    ...tlogFacts(bundle),
  };
}

function leafCertificate(bundle: Bundle): Buffer {
  const material = bundle.verificationMaterial.content;
  switch (material.$case) {
    case 'certificate':
      return material.certificate.rawBytes;
    case 'x509CertificateChain': {
      const leaf = material.x509CertificateChain.certificates[0];
      if (!leaf) throw signatureError('CERTIFICATE_ERROR', 'bundle certificate chain is empty');
      return leaf.rawBytes;
    }
    case 'publicKey':
      throw signatureError(
        'PUBLIC_KEY_ERROR',
        'bundle is signed with a public key, but keyless verification was asked for',
      );
  }
}

function verifyWithKeys(
  bundle: Bundle,
  target: BundleTarget,
  signer: Extract<SignerPolicy, { mode: 'key' }>,
): BundleOutcome {
  const material = bundle.verificationMaterial.content;
  if (material.$case !== 'publicKey') {
    throw signatureError('CERTIFICATE_ERROR', 'bundle carries a certificate, but key-based verification was asked for');
  }
  const checked = signer.requireTlog ? bundle : withoutTransparency(bundle);
  const { Verifier, toSignedEntity } = sigstoreVerify();
  const entity = guardSigstore('bundle', () => toSignedEntity(checked, artifactBuffer(target)));
  const failures: string[] = [];
  const reasons = new Set<SignatureReason>();
  for (const key of orderByHint(signer.keys, material.publicKey.hint)) {
    const verifier = new Verifier(trustMaterialFor(signer, key), keyThresholds(signer.requireTlog));
    try {
      verifier.verify(entity);
      if (signer.requireTlog) assertLoggedSignerMatches(checked.verificationMaterial.tlogEntries, { spki: key.spki });
      return { mode: 'key', subjects: [], keyName: key.name, ...(signer.requireTlog ? tlogFacts(bundle) : {}) };
    } catch (error) {
      failures.push(
        `key '${key.name}': ${error instanceof PinwardenError ? error.message : describeSigstoreError(error)}`,
      );
      reasons.add(error instanceof PinwardenError ? (error.subCode ?? 'SIGNATURE_ERROR') : sigstoreReason(error));
    }
  }
  // One key, or every key failing alike: that reason; keys failing differently: the signature did not verify.
  const [only] = reasons;
  throw signatureError(
    reasons.size === 1 && only !== undefined ? only : 'SIGNATURE_ERROR',
    `no configured key verified the bundle (${failures.join('; ')})`,
  );
}

function trustMaterialFor(signer: Extract<SignerPolicy, { mode: 'key' }>, key: PublicKeyMaterial): TrustMaterial {
  if (signer.trustRoot) return signer.trustRoot.material(keyFinderFor(key));
  if (signer.requireTlog)
    throw new PinwardenError('PW_INPUT_INVALID', 'a trusted root is needed to verify the transparency log');
  return { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [], publicKey: keyFinderFor(key) };
}

function keyThresholds(requireTlog: boolean): {
  tlogThreshold: number;
  ctlogThreshold: number;
  timestampThreshold: number;
} {
  return requireTlog
    ? { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 1 }
    : { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 };
}

/** Flux parity for keys: the tlog and timestamps are not consulted, so they must not fail the bundle either. */
function withoutTransparency(bundle: Bundle): Bundle {
  return {
    ...bundle,
    verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [], timestampVerificationData: undefined },
  };
}

function artifactBuffer(target: BundleTarget): Buffer | undefined {
  return target.artifact === undefined ? undefined : Buffer.from(target.artifact);
}

function tlogFacts(bundle: Bundle): Pick<BundleOutcome, 'logIndex' | 'integratedTime'> {
  const entry = bundle.verificationMaterial.tlogEntries[0];
  if (!entry) return {};
  const seconds = Number(entry.integratedTime);
  return { logIndex: entry.logIndex, ...(seconds > 0 ? { integratedTime: new Date(seconds * 1000) } : {}) };
}
