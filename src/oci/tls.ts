/**
 * TLS material for registry connections, as Flux's `spec.certSecretRef` carries it (source-controller
 * `getTLSConfig`): `ca.crt` extends the system trust pool (never replaces it), `tls.crt` + `tls.key` are a
 * client certificate; the deprecated `caFile`/`certFile`/`keyFile` keys still work.
 */
import { createHash } from 'node:crypto';
import { getCACertificates, rootCertificates } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';
import { PinwardenError } from '../core/errors.ts';

export interface TlsOptions {
  /** PEM CA bundle added to the system and bundled roots. */
  ca?: string;
  /** PEM client certificate (chain) and its PEM private key, for mTLS. */
  cert?: string;
  key?: string;
}

/** Secret `data`, already base64-decoded (Kubernetes returns it encoded). */
export type SecretData = Readonly<Record<string, string | Uint8Array | undefined>>;

export function tlsFromSecretData(data: SecretData): TlsOptions {
  const ca = text(data['ca.crt']) ?? text(data.caFile);
  const cert = text(data['tls.crt']) ?? text(data.certFile);
  const key = text(data['tls.key']) ?? text(data.keyFile);
  if ((cert === undefined) !== (key === undefined)) {
    throw new PinwardenError('PW_INPUT_INVALID', 'TLS secret must hold both a client certificate (tls.crt) and its key (tls.key), or neither');
  }
  return { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined && key !== undefined ? { cert, key } : {}) };
}

/** Options for node:https: the default roots plus the OS store plus our CA, and the client pair. */
export function secureContextOptions(tls: TlsOptions | undefined): SecureContextOptions {
  if (!tls) return {};
  const options: SecureContextOptions = {};
  if (tls.ca !== undefined) options.ca = [...systemRoots(), tls.ca];
  if (tls.cert !== undefined && tls.key !== undefined) {
    options.cert = tls.cert;
    options.key = tls.key;
  }
  return options;
}

/**
 * Identity of the TLS material for connection pools and cache keys (different trust → different answers may
 * be valid). It covers the client KEY, not only the certificate: a certificate is public, so a tenant holding
 * another tenant's certificate with a key of their own must get their own (failing) handshake, never the
 * other tenant's pooled connection, token or cached digests.
 */
export function tlsIdentity(tls: TlsOptions | undefined): string {
  if (!tls || (tls.ca === undefined && tls.cert === undefined)) return 'default';
  return createHash('sha256').update(JSON.stringify([tls.ca, tls.cert, tls.key])).digest('hex').slice(0, 16);
}

let cachedRoots: readonly string[] | undefined;

function systemRoots(): readonly string[] {
  cachedRoots ??= [...new Set([...rootCertificates, ...safeSystemStore()])];
  return cachedRoots;
}

function safeSystemStore(): string[] {
  try {
    return getCACertificates('system');
  } catch {
    return [];
  }
}

function text(value: string | Uint8Array | undefined): string | undefined {
  if (value === undefined) return undefined;
  const decoded = typeof value === 'string' ? value : new TextDecoder().decode(value);
  return decoded.trim() === '' ? undefined : decoded;
}
