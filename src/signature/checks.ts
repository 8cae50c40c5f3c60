/**
 * Checks sigstore-js does not make and cosign/sigstore-go do: the key or certificate recorded in every
 * transparency-log body is the one that signed (sigstore-js only compares signature and digest, so a log
 * entry for the same signature under another key would pass); the leaf carries the codeSigning EKU; every
 * integrated time lies inside the leaf's validity window. Plus two structural checks that turn sigstore-js
 * crashes or silent skips into named reasons (see assertBundleWellFormed).
 */
import type { Bundle, TransparencyLogEntry } from '@sigstore/bundle';

import type { CertificateFacts } from './certificate.ts';
import { OID_CODE_SIGNING } from './certificate.ts';
import { firstPemBlock } from './pem.ts';
import { signatureError } from './failure.ts';
import { sigstoreCore } from './sigstore.ts';

/** What signed, as the tlog body must name it. */
export type ExpectedSigner = { certificateDer: Buffer; spki: Buffer } | { certificateDer?: undefined; spki: Buffer };

type LoggedVerifier = { certificateDer: Buffer } | { spki: Buffer };

export function assertLoggedSignerMatches(entries: readonly TransparencyLogEntry[], expected: ExpectedSigner): void {
  entries.forEach((entry, index) => {
    const logged = loggedVerifier(entry);
    const same =
      'certificateDer' in logged
        ? expected.certificateDer !== undefined && logged.certificateDer.equals(expected.certificateDer)
        : logged.spki.equals(expected.spki);
    if (!same) {
      throw signatureError(
        'TLOG_BODY_ERROR',
        `tlog entry ${index} (log index ${entry.logIndex}) records a different ${'certificateDer' in logged ? 'certificate' : 'public key'} than the one that signed`,
      );
    }
  });
}

export function assertCodeSigning(facts: CertificateFacts): void {
  if (!facts.extendedKeyUsages.includes(OID_CODE_SIGNING)) {
    throw signatureError(
      'CERTIFICATE_ERROR',
      'signing certificate lacks the codeSigning extended key usage (1.3.6.1.5.5.7.3.3)',
    );
  }
}

/** Rekor v2 entries carry no integrated time (0); their time comes from an RFC 3161 timestamp instead. */
export function assertIntegratedWithinValidity(
  entries: readonly TransparencyLogEntry[],
  facts: CertificateFacts,
): void {
  for (const entry of entries) {
    const seconds = Number(entry.integratedTime);
    if (!Number.isFinite(seconds) || seconds <= 0) continue;
    const time = new Date(seconds * 1000);
    if (time < facts.notBefore || time > facts.notAfter) {
      throw signatureError(
        'CERTIFICATE_ERROR',
        `integrated time ${time.toISOString()} is outside the certificate validity ${facts.notBefore.toISOString()} .. ${facts.notAfter.toISOString()}`,
      );
    }
  }
}

/**
 * An inclusion proof must carry its signed checkpoint (v0.1 bundles may omit it structurally, and sigstore-js
 * then dies on a TypeError); a certificate chain, when a bundle carries one, must be in issuing order
 * (leaf, intermediates, root): sigstore-js looks only at the leaf and trusts the trusted root, but a chain
 * that is not even self-consistent marks a forged or mangled bundle (conformance `bundle-with-root-cert_fail`).
 */
export function assertBundleWellFormed(bundle: Bundle): void {
  const material = bundle.verificationMaterial.content;
  if (material.$case === 'x509CertificateChain')
    assertIssuingOrder(material.x509CertificateChain.certificates.map((c) => c.rawBytes));
  bundle.verificationMaterial.tlogEntries.forEach((entry, index) => {
    if (entry.inclusionProof && !entry.inclusionProof.checkpoint?.envelope) {
      throw signatureError(
        'TLOG_INCLUSION_PROOF_ERROR',
        `tlog entry ${index} has an inclusion proof without a checkpoint`,
      );
    }
  });
}

function assertIssuingOrder(chain: readonly Buffer[]): void {
  for (let i = 0; i + 1 < chain.length; i++) {
    let issued = false;
    try {
      const [child, parent] = [
        sigstoreCore().X509Certificate.parse(Buffer.from(chain[i]!)),
        sigstoreCore().X509Certificate.parse(Buffer.from(chain[i + 1]!)),
      ];
      issued = child.issuer.equals(parent.subject) && child.verify(parent);
    } catch {
      issued = false;
    }
    if (!issued) {
      throw signatureError(
        'CERTIFICATE_ERROR',
        `bundle certificate chain is not in issuing order: certificate ${i} is not issued by certificate ${i + 1}`,
      );
    }
  }
}

function loggedVerifier(entry: TransparencyLogEntry): LoggedVerifier {
  const kind = `${entry.kindVersion?.kind}/${entry.kindVersion?.version}`;
  let body: unknown;
  try {
    body = JSON.parse(entry.canonicalizedBody.toString('utf8'));
  } catch {
    throw signatureError('TLOG_BODY_ERROR', `tlog entry ${kind} body is not JSON`);
  }
  const material = verifierMaterial(kind, (body as { spec?: unknown } | null)?.spec);
  if (material === undefined) {
    throw signatureError('TLOG_BODY_ERROR', `tlog entry ${kind} names no verifier key or certificate`);
  }
  return material;
}

/** Field paths per Rekor entry kind: v1 kinds log a base64 PEM, Rekor v2 logs base64 DER. */
function verifierMaterial(kind: string, spec: unknown): LoggedVerifier | undefined {
  switch (kind) {
    case 'hashedrekord/0.0.1':
      return fromPem(at(spec, ['signature', 'publicKey', 'content']));
    case 'dsse/0.0.1':
      return fromPem(at(spec, ['signatures', 0, 'verifier']));
    case 'intoto/0.0.2':
      return fromPem(at(spec, ['content', 'envelope', 'signatures', 0, 'publicKey']));
    case 'hashedrekord/0.0.2':
      return fromV2Verifier(at(spec, ['hashedRekordV002', 'signature', 'verifier']));
    case 'dsse/0.0.2':
      return fromV2Verifier(at(spec, ['dsseV002', 'signatures', 0, 'verifier']));
    default:
      return undefined;
  }
}

function fromPem(base64Pem: unknown): LoggedVerifier | undefined {
  if (typeof base64Pem !== 'string') return undefined;
  const block = firstPemBlock(Buffer.from(base64Pem, 'base64').toString('utf8'));
  if (!block) return undefined;
  return block.label === 'CERTIFICATE' ? { certificateDer: block.der } : { spki: block.der };
}

function fromV2Verifier(verifier: unknown): LoggedVerifier | undefined {
  const certificate = at(verifier, ['x509Certificate', 'rawBytes']);
  if (typeof certificate === 'string') return { certificateDer: Buffer.from(certificate, 'base64') };
  const key = at(verifier, ['publicKey', 'rawBytes']);
  return typeof key === 'string' ? { spki: Buffer.from(key, 'base64') } : undefined;
}

function at(value: unknown, path: readonly (string | number)[]): unknown {
  let current = value;
  for (const step of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}
