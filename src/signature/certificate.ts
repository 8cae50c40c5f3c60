/**
 * What we read out of a Fulcio leaf certificate ourselves, because sigstore-js reports only the first URI or
 * email SAN and never looks at the EKU: issuer (57264.1.8, else 57264.1.1), every SAN in cosign's order
 * (DNS, email, IP, URI, Fulcio username otherName 57264.1.7), the codeSigning EKU, validity, SPKI and the
 * workflow claims (claims.ts).
 */
import type { ASN1Obj } from '@sigstore/core';
import type { X509Certificate } from '@sigstore/core';
import type { CertificateClaims } from '../core/binding/index.ts';
import { readClaims } from './claims.ts';
import { signatureError } from './failure.ts';
import { sigstoreCore } from './sigstore.ts';

const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_USERNAME_SAN = '1.3.6.1.4.1.57264.1.7';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
export const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

export interface CertificateFacts {
  der: Buffer;
  /** SubjectPublicKeyInfo DER, to compare with a logged public key. */
  spki: Buffer;
  issuer: string | undefined;
  subjects: string[];
  extendedKeyUsages: string[];
  notBefore: Date;
  notAfter: Date;
  /** The Fulcio workflow claims (57264.1.*): repository, commit, ref, runner, build signer… */
  claims: CertificateClaims;
}

export function certificateFacts(der: Uint8Array): CertificateFacts {
  try {
    const cert = sigstoreCore().X509Certificate.parse(Buffer.from(der));
    return {
      der: Buffer.from(der),
      spki: cert.publicKey,
      issuer: fulcioIssuer(cert),
      subjects: subjectAlternativeNames(cert),
      extendedKeyUsages: extendedKeyUsages(cert),
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      claims: readClaims(cert.extensions),
    };
  } catch (error) {
    throw signatureError(
      'CERTIFICATE_ERROR',
      'signing certificate cannot be parsed as X.509 DER',
      'PW_SIGNATURE_INVALID',
      error,
    );
  }
}

function fulcioIssuer(cert: X509Certificate): string | undefined {
  const v2 = cert.extension(OID_ISSUER_V2);
  if (v2) return v2.valueObj.subs[0]?.value.toString('utf8');
  return cert.extension(OID_ISSUER_V1)?.value.toString('utf8');
}

function extendedKeyUsages(cert: X509Certificate): string[] {
  const sequence = cert.extension(OID_EXT_KEY_USAGE)?.valueObj.subs[0];
  return sequence ? sequence.subs.map((oid) => oid.toOID()) : [];
}

/** cosign `cryptoutils.GetSubjectAlternateNames` order: DNS, email, IP, URI, then otherName. */
function subjectAlternativeNames(cert: X509Certificate): string[] {
  const names = cert.extension(OID_SUBJECT_ALT_NAME)?.valueObj.subs[0]?.subs ?? [];
  const byTag = (tag: number): ASN1Obj[] => names.filter((name) => name.tag.isContextSpecific(tag));
  return [
    ...byTag(2).map((name) => name.value.toString('utf8')),
    ...byTag(1).map((name) => name.value.toString('utf8')),
    ...byTag(7).map((name) => formatIp(name.value)),
    ...byTag(6).map((name) => name.value.toString('utf8')),
    ...byTag(0).flatMap(usernameOtherName),
  ];
}

function usernameOtherName(otherName: ASN1Obj): string[] {
  const [oid, value] = otherName.subs;
  if (!oid || oid.toOID() !== OID_USERNAME_SAN) return [];
  const text = value?.subs[0]?.value;
  return text ? [text.toString('utf8')] : [];
}

/** Go `net.IP.String()`: dotted IPv4 (also for v4-mapped v6), RFC 5952 compressed IPv6. */
export function formatIp(bytes: Uint8Array): string {
  const mapped =
    bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (bytes.length === 4 || mapped) return [...bytes.subarray(bytes.length - 4)].join('.');
  if (bytes.length !== 16) return `?${Buffer.from(bytes).toString('hex')}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0));
  const [start, length] = longestZeroRun(groups);
  const hex = groups.map((group) => group.toString(16));
  if (length < 2) return hex.join(':');
  return `${hex.slice(0, start).join(':')}::${hex.slice(start + length).join(':')}`;
}

function longestZeroRun(groups: number[]): [number, number] {
  let best: [number, number] = [-1, 0];
  let run = 0;
  groups.forEach((group, i) => {
    run = group === 0 ? run + 1 : 0;
    if (run > best[1]) best = [i - run + 1, run];
  });
  return best;
}
