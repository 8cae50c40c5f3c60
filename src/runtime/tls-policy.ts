/**
 * The webhook's TLS settings in one place: TLS 1.2 minimum, Mozilla's "intermediate" cipher list (AEAD only,
 * forward secret: no CBC, no SHA-1 MACs, no static RSA), and, with `--client-ca-file`, a client certificate
 * required and verified against that CA (the apiserver's, from its AdmissionConfiguration kubeConfigFile).
 * Also the rule for a reloaded serving pair: valid now and covering every name the current one covers.
 */
import { X509Certificate } from 'node:crypto';
import type { ServerOptions } from 'node:https';
import type { SecureContextOptions } from 'node:tls';

export const MIN_TLS_VERSION = 'TLSv1.2';

/** https://ssl-config.mozilla.org/ "intermediate" (v5.7): TLS 1.3 suites, then the TLS 1.2 AEAD suites. */
export const INTERMEDIATE_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface ServingMaterial {
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM bundle of CAs whose client certificates are accepted; absent: no client certificate asked for. */
  clientCa?: string | Buffer;
}

export function secureContextOptions(material: ServingMaterial): SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    minVersion: MIN_TLS_VERSION,
    ciphers: INTERMEDIATE_CIPHERS,
    // Mozilla intermediate: the client's preference wins (it knows whether it has AES hardware).
    honorCipherOrder: false,
    ...(material.clientCa !== undefined ? { ca: material.clientCa } : {}),
  };
}

export function serverTlsOptions(material: ServingMaterial): ServerOptions {
  return {
    ...secureContextOptions(material),
    ...(material.clientCa !== undefined ? { requestCert: true, rejectUnauthorized: true } : {}),
  };
}

export interface CertificateFacts {
  notBefore: Date;
  notAfter: Date;
  /** `DNS:…` and `IP Address:…` entries of the subjectAltName extension. */
  names: string[];
}

export function certificateFacts(pem: string | Buffer): CertificateFacts {
  const leaf = new X509Certificate(pem);
  const names = (leaf.subjectAltName ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  return { notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo), names };
}

/** Why a new serving certificate must not replace the current one, or undefined when it may. */
export function reloadRefusal(current: CertificateFacts, next: CertificateFacts, now: Date): string | undefined {
  if (next.notAfter.getTime() <= now.getTime()) return `the new certificate expired at ${next.notAfter.toISOString()}`;
  if (next.notBefore.getTime() > now.getTime())
    return `the new certificate is not valid before ${next.notBefore.toISOString()}`;
  const missing = current.names.filter((name) => !next.names.includes(name));
  if (missing.length > 0)
    return `the new certificate lacks ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}, which the current one serves`;
  return undefined;
}
