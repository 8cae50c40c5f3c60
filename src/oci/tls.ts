/**
 * TLS material for registry connections, as Flux's `spec.certSecretRef` carries it (source-controller
 * `getTLSConfig`): `ca.crt` extends the system trust pool (never replaces it), `tls.crt` + `tls.key` are a
 * client certificate; the deprecated `caFile`/`certFile`/`keyFile` keys still work.
 */
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
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
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      'TLS secret must hold both a client certificate (tls.crt) and its key (tls.key), or neither',
    );
  }
  if (cert !== undefined && key !== undefined) assertKeyMatches(cert, key);
  return { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined && key !== undefined ? { cert, key } : {}) };
}

/**
 * The client key must belong to the certificate. A certificate is public: without this check a tenant
 * holding another tenant's certificate would only be stopped by the handshake; with it, the Secret is refused
 * before any connection, with a message that says why.
 */
function assertKeyMatches(cert: string, key: string): void {
  let certificateKey: Buffer;
  let privateKey: Buffer;
  try {
    certificateKey = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
    privateKey = createPublicKey(createPrivateKey(key)).export({ type: 'spki', format: 'der' });
  } catch {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      'TLS secret: tls.crt or tls.key is not a readable PEM certificate and private key',
    );
  }
  if (!certificateKey.equals(privateKey))
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      'TLS secret: tls.key is not the private key of the certificate in tls.crt',
    );
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
  return createHash('sha256')
    .update(JSON.stringify([tls.ca, tls.cert, tls.key]))
    .digest('hex')
    .slice(0, 16);
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
