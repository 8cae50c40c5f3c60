// Mints cosign signatures at test time, the way Fulcio, Rekor and cosign make them, with a self-made
// "Fulcio" (P-384 root + intermediate, P-256 leaf: empty subject, critical SAN, codeSigning EKU, both issuer
// extensions, 10-minute validity) and a self-made "Rekor" key (SET over the canonical JSON, one-leaf inclusion
// proof + signed checkpoint for v0.3 bundles). No SCTs: the custom trusted root lists no CT log, so the
// verifier's SCT threshold is 0 (what a private Fulcio without CT gets). Signing and attaching the way cosign
// does: sigstore-fixtures-sign.ts.
import { KeyObject, createHash, generateKeyPairSync, sign, webcrypto } from 'node:crypto';
import './reflect-shim.ts';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;

const REKOR_HOST = 'rekor.pinwarden.test';
export const TEST_ISSUER = 'https://token.actions.githubusercontent.com';
export const TEST_SUBJECT = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0';
const EC = (curve: string): webcrypto.EcKeyGenParams => ({ name: 'ECDSA', namedCurve: curve });

export interface FulcioLikeCa {
  root: x509.X509Certificate;
  intermediate: x509.X509Certificate;
  intermediateKey: CryptoKey;
}
export interface RekorLikeLog {
  privateKey: KeyObject;
  spki: Buffer;
  logId: Buffer;
}
export interface KeylessSigner {
  certificatePem: string;
  certificateDer: Buffer;
  privateKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
}
export interface SigstoreFixture {
  ca: FulcioLikeCa;
  rekor: RekorLikeLog;
  trustedRoot: object;
  trustedRootBytes: Buffer;
}

export async function createFulcioLikeCa(name = 'pinwarden-test'): Promise<FulcioLikeCa> {
  const rootKeys = await webcrypto.subtle.generateKey(EC('P-384'), true, ['sign', 'verify']);
  const interKeys = await webcrypto.subtle.generateKey(EC('P-384'), true, ['sign', 'verify']);
  const ca = async (ski: CryptoKey): Promise<x509.Extension[]> => [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(ski),
  ];
  const notBefore = new Date(Date.now() - 24 * 3600_000);
  const notAfter = new Date(Date.now() + 365 * 24 * 3600_000);
  const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-384' };
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: `O=${name}, CN=${name}-root`,
    keys: rootKeys,
    notBefore,
    notAfter,
    signingAlgorithm,
    extensions: await ca(rootKeys.publicKey),
  });
  const intermediate = await x509.X509CertificateGenerator.create({
    subject: `O=${name}, CN=${name}-intermediate`,
    issuer: root.subject,
    publicKey: interKeys.publicKey,
    signingKey: rootKeys.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm,
    extensions: [
      ...(await ca(interKeys.publicKey)),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  return { root, intermediate, intermediateKey: interKeys.privateKey };
}

export function createRekorLikeLog(): RekorLikeLog {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, spki, logId: createHash('sha256').update(spki).digest() };
}

export async function createSigstoreFixture(): Promise<SigstoreFixture> {
  const ca = await createFulcioLikeCa();
  const rekor = createRekorLikeLog();
  const trustedRoot = trustedRootJson(ca, rekor);
  return { ca, rekor, trustedRoot, trustedRootBytes: Buffer.from(JSON.stringify(trustedRoot)) };
}

export function trustedRootJson(ca: FulcioLikeCa, rekor: RekorLikeLog): object {
  const start = new Date(Date.now() - 48 * 3600_000).toISOString();
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: `https://${REKOR_HOST}`,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: rekor.spki.toString('base64'),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start },
        },
        logId: { keyId: rekor.logId.toString('base64') },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'pinwarden-test', commonName: 'pinwarden-test' },
        uri: 'https://fulcio.pinwarden.test',
        certChain: {
          certificates: [ca.intermediate, ca.root].map((c) => ({
            rawBytes: Buffer.from(c.rawData).toString('base64'),
          })),
        },
        validFor: { start },
      },
    ],
    ctlogs: [],
    timestampAuthorities: [],
  };
}

export interface LeafOptions {
  /** SAN URI (the workflow identity); default TEST_SUBJECT. */
  subject?: string;
  issuer?: string;
  extraSans?: { email?: string; dns?: string; ip?: Uint8Array; username?: string };
  notBefore?: Date;
  validityMinutes?: number;
  codeSigning?: boolean;
  /** Which Fulcio issuer extensions to write (default both, as Fulcio does today). */
  issuerExtensions?: readonly ('v1' | 'v2')[];
  /** Workflow claim extensions (57264.1.N → value); see githubClaims / gitlabClaims. */
  claims?: readonly ClaimExtension[];
}

/** One 57264.1.N extension: v2 numbers are written as DER UTF8String, v1 (2–6) raw; `raw` forces the bytes. */
export interface ClaimExtension {
  n: number;
  value?: string;
  raw?: Buffer;
}

export interface WorkflowRun {
  /** `owner/name` (GitHub) or `group/project` (GitLab). */
  repository: string;
  sha: string;
  ref: string;
  runner?: string;
  /** Write the deprecated GitHub v1 extensions too (.2, .3, .5, .6), as Fulcio still does for GitHub. */
  v1?: boolean;
  /** Only the v1 extensions (a certificate from before the v2 OIDs existed). */
  v1Only?: boolean;
  workflow?: string;
}

/** The extensions Fulcio writes for a GitHub Actions token (fulcio pkg/identity/github). */
export function githubClaims(run: WorkflowRun): ClaimExtension[] {
  const url = `https://github.com/${run.repository}`;
  const workflow = `${url}/${run.workflow ?? '.github/workflows/release.yml'}@${run.ref}`;
  const v1: ClaimExtension[] = [
    { n: 2, value: 'push' },
    { n: 3, value: run.sha },
    { n: 4, value: 'Release' },
    { n: 5, value: run.repository },
    { n: 6, value: run.ref },
  ];
  const v2: ClaimExtension[] = [
    { n: 9, value: workflow },
    { n: 10, value: run.sha },
    { n: 11, value: run.runner ?? 'github-hosted' },
    { n: 12, value: url },
    { n: 13, value: run.sha },
    { n: 14, value: run.ref },
    { n: 15, value: '123456' },
    { n: 16, value: `https://github.com/${run.repository.split('/')[0]}` },
    { n: 17, value: '654321' },
    { n: 18, value: workflow },
    { n: 19, value: run.sha },
    { n: 20, value: 'push' },
    { n: 21, value: `${url}/actions/runs/1/attempts/1` },
    { n: 22, value: 'public' },
  ];
  if (run.v1Only) return v1;
  return run.v1 === false ? v2 : [...v1, ...v2];
}

/** The extensions Fulcio writes for a GitLab CI token (fulcio pkg/identity/gitlabcom): v2 only. */
export function gitlabClaims(run: WorkflowRun): ClaimExtension[] {
  const url = `https://gitlab.com/${run.repository}`;
  const config = `${url}//${run.workflow ?? '.gitlab-ci.yml'}@${run.ref}`;
  return [
    { n: 9, value: config },
    { n: 10, value: run.sha },
    { n: 11, value: run.runner ?? 'gitlab-hosted' },
    { n: 12, value: url },
    { n: 13, value: run.sha },
    { n: 14, value: run.ref },
    { n: 15, value: '42' },
    { n: 16, value: `https://gitlab.com/${run.repository.split('/')[0]}` },
    { n: 17, value: '7' },
    { n: 18, value: config },
    { n: 19, value: run.sha },
    { n: 20, value: 'push' },
    { n: 21, value: `${url}/-/jobs/99` },
    { n: 22, value: 'public' },
  ];
}

function claimExtension(claim: ClaimExtension): x509.Extension {
  const bytes =
    claim.raw ??
    (claim.n >= 2 && claim.n <= 6 ? Buffer.from(claim.value ?? '') : der(0x0c, Buffer.from(claim.value ?? '')));
  return new x509.Extension(`1.3.6.1.4.1.57264.1.${claim.n}`, false, bytes);
}

export async function mintLeaf(ca: FulcioLikeCa, options: LeafOptions = {}): Promise<KeylessSigner> {
  const keys = await webcrypto.subtle.generateKey(EC('P-256'), true, ['sign', 'verify']);
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (options.validityMinutes ?? 10) * 60_000);
  const issuer = options.issuer ?? TEST_ISSUER;
  const cert = await x509.X509CertificateGenerator.create({
    subject: '',
    issuer: ca.intermediate.subject,
    publicKey: keys.publicKey,
    signingKey: ca.intermediateKey,
    notBefore,
    notAfter,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        options.codeSigning === false ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.codeSigning,
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.intermediate),
      new x509.Extension(
        '2.5.29.17',
        true,
        sanExtensionValue(options.subject ?? TEST_SUBJECT, options.extraSans ?? {}),
      ),
      ...issuerExtensions(issuer, options.issuerExtensions ?? ['v1', 'v2']),
      ...(options.claims ?? []).map(claimExtension),
    ],
  });
  const certificateDer = Buffer.from(cert.rawData);
  return {
    certificatePem: cert.toString('pem'),
    certificateDer,
    privateKey: KeyObject.from(keys.privateKey),
    notBefore,
    notAfter,
  };
}

/** 57264.1.1 holds the raw ASCII issuer, 57264.1.8 a DER UTF8String. */
function issuerExtensions(issuer: string, which: readonly ('v1' | 'v2')[]): x509.Extension[] {
  return [
    ...(which.includes('v1') ? [new x509.Extension('1.3.6.1.4.1.57264.1.1', false, Buffer.from(issuer))] : []),
    ...(which.includes('v2')
      ? [new x509.Extension('1.3.6.1.4.1.57264.1.8', false, der(0x0c, Buffer.from(issuer)))]
      : []),
  ];
}

/** SAN GeneralNames by hand, so the Fulcio username otherName (57264.1.7) can be tested too. */
function sanExtensionValue(uri: string, extra: NonNullable<LeafOptions['extraSans']>): Buffer {
  const names = [der(0x86, Buffer.from(uri))];
  if (extra.email) names.push(der(0x81, Buffer.from(extra.email)));
  if (extra.dns) names.push(der(0x82, Buffer.from(extra.dns)));
  if (extra.ip) names.push(der(0x87, Buffer.from(extra.ip)));
  if (extra.username) {
    const oid = der(0x06, Buffer.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01, 0x07]));
    names.push(der(0xa0, Buffer.concat([oid, der(0xa0, der(0x0c, Buffer.from(extra.username)))])));
  }
  return der(0x30, Buffer.concat(names));
}

function der(tag: number, content: Buffer): Buffer {
  const length = content.length < 0x80 ? Buffer.from([content.length]) : lengthBytes(content.length);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

function lengthBytes(length: number): Buffer {
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** JSON with keys sorted at every level and no whitespace (RFC 8785 for our value shapes). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();
export const signEcdsa = (key: KeyObject, data: Uint8Array | string): Buffer =>
  sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', Buffer.from(data), key);
export const pemOfPublicKey = (key: KeyObject): string => key.export({ format: 'pem', type: 'spki' }).toString();
