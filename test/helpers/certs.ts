/**
 * Test PKI: a throwaway CA and leaf certificates (ECDSA P-256) minted with @peculiar/x509 on WebCrypto.
 * Used by the registry harness (TLS, mTLS) and by its token server (the JWT signing certificate).
 */
import './reflect-shim.ts';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
  /** Base64 DER of the certificate (a JWT `x5c` entry). */
  certDerBase64: string;
  privateKey: CryptoKey;
}

export interface TestCa extends KeyPairPem {
  issue(options: LeafOptions): Promise<KeyPairPem>;
}

export interface LeafOptions {
  commonName: string;
  usage: 'server' | 'client';
  /** Subject alternative names; defaults to 127.0.0.1 and localhost for servers. */
  ips?: string[];
  dns?: string[];
  /** Validity window (default: from a day ago to a week ahead). */
  notBefore?: Date;
  notAfter?: Date;
  /** Subject O= values: Kubernetes reads them as the user's groups (e.g. `system:masters`). */
  organizations?: string[];
}

export async function createTestCa(commonName = 'pinwarden test CA'): Promise<TestCa> {
  const { cert, keys } = await selfSigned(commonName, async (publicKey) => [
    new x509.BasicConstraintsExtension(true, 1, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
  ]);
  const ca = await toPem(cert, keys.privateKey);
  return { ...ca, issue: (options) => issueLeaf(cert, keys.privateKey, options) };
}

/** A self-signed certificate usable directly as a trust anchor (the token server's JWT signer). */
export async function createSelfSignedSigner(commonName: string): Promise<KeyPairPem> {
  const { cert, keys } = await selfSigned(commonName, async () => [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
  ]);
  return toPem(cert, keys.privateKey);
}

async function selfSigned(
  commonName: string,
  extensions: (publicKey: CryptoKey) => Promise<x509.Extension[]>,
): Promise<{ cert: x509.X509Certificate; keys: CryptoKeyPair }> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: SIGNING,
    ...validity(),
    extensions: await extensions(keys.publicKey),
  });
  return { cert, keys };
}

async function issueLeaf(caCert: x509.X509Certificate, caKey: CryptoKey, options: LeafOptions): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const server = options.usage === 'server';
  const ips = options.ips ?? (server ? ['127.0.0.1'] : []);
  const dns = options.dns ?? (server ? ['localhost'] : []);
  const names = [
    ...ips.map((value) => ({ type: 'ip' as const, value })),
    ...dns.map((value) => ({ type: 'dns' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    subject: [`CN=${options.commonName}`, ...(options.organizations ?? []).map((org) => `O=${org}`)].join(', '),
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING,
    ...validity(),
    ...(options.notBefore ? { notBefore: options.notBefore } : {}),
    ...(options.notAfter ? { notAfter: options.notAfter } : {}),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([
        server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
      ]),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
    ],
  });
  return toPem(cert, keys.privateKey);
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

function validity(): { notBefore: Date; notAfter: Date; serialNumber: string } {
  const now = Date.now();
  const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex');
  return { notBefore: new Date(now - DAY_MS), notAfter: new Date(now + 7 * DAY_MS), serialNumber: `01${serial}` };
}

async function toPem(cert: x509.X509Certificate, privateKey: CryptoKey): Promise<KeyPairPem> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', privateKey)).toString('base64');
  const lines = pkcs8.match(/.{1,64}/g) ?? [];
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return {
    certPem: `${cert.toString('pem')}\n`,
    keyPem,
    certDerBase64: Buffer.from(cert.rawData).toString('base64'),
    privateKey,
  };
}
