// Signs and attaches like cosign: legacy simple-signing payload + layer annotations (signature, certificate,
// chain, Rekor bundle = SET over the canonical hashedrekord entry) in a `sha256-<hex>.sig` image; and the
// cosign v3 form, a v0.3 bundle (DSSE in-toto statement, dsse 0.0.1 entry with SET + one-leaf inclusion
// proof + signed checkpoint) in a referrer manifest with `subject`, `artifactType` and the empty `{}` config.
import type { KeyObject } from 'node:crypto';
import type { Call, Descriptor, Repository } from '../../src/oci/types.ts';
import { MEDIA_TYPES } from '../../src/oci/types.ts';
import type { KeylessSigner, RekorLikeLog } from './sigstore-fixtures.ts';
import { canonicalJson, pemOfPublicKey, sha256, signEcdsa } from './sigstore-fixtures.ts';

export interface KeySigner {
  privateKey: KeyObject;
  publicKey: KeyObject;
}
export type Signer = KeylessSigner | KeySigner;

export interface EntryOptions {
  rekor?: RekorLikeLog;
  /** Unix seconds; default one minute into the leaf's validity (or now for keys). */
  integratedTime?: number;
  logIndex?: number;
  /** Attack knob: the verifier PEM written into the log body instead of the signer's. */
  loggedVerifierPem?: string;
}

export interface LegacyMaterial {
  payload: Buffer;
  annotations: Record<string, string>;
}

const call = (): Call => ({ signal: AbortSignal.timeout(10_000) });
const REKOR_ORIGIN = 'rekor.pinwarden.test - 1234567890';
const REKOR_NAME = 'rekor.pinwarden.test';
const b64 = (data: Uint8Array | string): string => Buffer.from(data).toString('base64');

function verifierPem(signer: Signer): string {
  return 'certificatePem' in signer ? signer.certificatePem : pemOfPublicKey(signer.publicKey);
}

function defaultTime(signer: Signer): number {
  const base = 'notBefore' in signer ? signer.notBefore.getTime() + 60_000 : Date.now();
  return Math.floor(base / 1000);
}

/** cosign's simple-signing payload, byte for byte as Go writes it. */
export function simpleSigningPayload(repository: string, digest: string): Buffer {
  return Buffer.from(
    `{"critical":{"identity":{"docker-reference":"${repository}"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
  );
}

export function legacySignature(
  signer: Signer,
  repository: string,
  digest: string,
  entry: EntryOptions = {},
): LegacyMaterial {
  const payload = simpleSigningPayload(repository, digest);
  const signature = signEcdsa(signer.privateKey, payload);
  const annotations: Record<string, string> = { 'dev.cosignproject.cosign/signature': b64(signature) };
  if ('certificatePem' in signer) {
    annotations['dev.sigstore.cosign/certificate'] = signer.certificatePem;
    annotations['dev.sigstore.cosign/chain'] = '';
  }
  if (entry.rekor) {
    const body = canonicalJson({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: sha256(payload).toString('hex') } },
        signature: {
          content: b64(signature),
          publicKey: { content: b64(entry.loggedVerifierPem ?? verifierPem(signer)) },
        },
      },
    });
    const rekorPayload = setPayload(
      entry.rekor,
      body,
      entry.integratedTime ?? defaultTime(signer),
      entry.logIndex ?? 4242,
    );
    annotations['dev.sigstore.cosign/bundle'] = JSON.stringify({
      SignedEntryTimestamp: b64(signEcdsa(entry.rekor.privateKey, canonicalJson(rekorPayload))),
      Payload: rekorPayload,
    });
  }
  return { payload, annotations };
}

function setPayload(rekor: RekorLikeLog, body: string, integratedTime: number, logIndex: number) {
  return { body: b64(body), integratedTime, logIndex, logID: rekor.logId.toString('hex') };
}

/** The predicate type `cosign sign` writes; `cosign attest` writes the attestation's own (SLSA, vuln…). */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
export const SLSA_PROVENANCE_PREDICATE = 'https://slsa.dev/provenance/v1';

/**
 * A cosign v3 signature bundle; `subjectDigests` lets a test sign a statement about something else, and
 * `predicate` makes it an attestation (`cosign attest --new-bundle-format` output) instead.
 */
export function dsseBundle(
  signer: Signer,
  digest: string,
  entry: EntryOptions = {},
  subjectDigests = [digest],
  predicate: { type: string; body?: object } = { type: COSIGN_SIGN_PREDICATE },
): object {
  const statement = JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: subjectDigests.map((d) => ({ digest: { [d.split(':')[0]!]: d.split(':')[1] } })),
    predicateType: predicate.type,
    predicate: predicate.body ?? {},
  });
  const payloadType = 'application/vnd.in-toto+json';
  const pae = Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${Buffer.byteLength(statement)} ${statement}`);
  const signature = signEcdsa(signer.privateKey, pae);
  const envelope = { payload: b64(statement), payloadType, signatures: [{ sig: b64(signature), keyid: '' }] };
  const material =
    'certificatePem' in signer
      ? { certificate: { rawBytes: b64(signer.certificateDer) } }
      : { publicKey: { hint: b64(sha256(signer.publicKey.export({ format: 'der', type: 'spki' }))) } };
  const tlogEntries = entry.rekor ? [dsseEntry(signer, entry.rekor, envelope, statement, signature, entry)] : [];
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { ...material, tlogEntries },
    dsseEnvelope: envelope,
  };
}

function dsseEntry(
  signer: Signer,
  rekor: RekorLikeLog,
  envelope: object,
  statement: string,
  signature: Buffer,
  entry: EntryOptions,
) {
  const body = canonicalJson({
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(canonicalJson(envelope)).toString('hex') },
      payloadHash: { algorithm: 'sha256', value: sha256(statement).toString('hex') },
      signatures: [{ signature: b64(signature), verifier: b64(entry.loggedVerifierPem ?? verifierPem(signer)) }],
    },
  });
  const integratedTime = entry.integratedTime ?? defaultTime(signer);
  const logIndex = entry.logIndex ?? 4243;
  const set = signEcdsa(rekor.privateKey, canonicalJson(setPayload(rekor, body, integratedTime, logIndex)));
  const rootHash = sha256(Buffer.concat([Buffer.from([0]), Buffer.from(body)]));
  const note = `${REKOR_ORIGIN}\n1\n${b64(rootHash)}\n`;
  const noteSignature = Buffer.concat([rekor.logId.subarray(0, 4), signEcdsa(rekor.privateKey, note)]);
  return {
    logIndex: String(logIndex),
    logId: { keyId: b64(rekor.logId) },
    kindVersion: { kind: 'dsse', version: '0.0.1' },
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: b64(set) },
    inclusionProof: {
      logIndex: '0',
      rootHash: b64(rootHash),
      treeSize: '1',
      hashes: [],
      checkpoint: { envelope: `${note}\n\u2014 ${REKOR_NAME} ${b64(noteSignature)}\n` },
    },
    canonicalizedBody: b64(body),
  };
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** A Flux-like artifact to sign: config + one layer + manifest under `tag`. */
export async function pushArtifact(
  repository: Repository,
  tag = 'latest',
  content = `content ${Math.random()}`,
): Promise<Descriptor> {
  const config = await repository.pushBlob(Buffer.from('{}'), MEDIA_TYPES.fluxConfig, call());
  const layer = await repository.pushBlob(Buffer.from(content), MEDIA_TYPES.fluxContent, call());
  const manifest = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers: [layer] };
  return repository.pushManifest(json(manifest), MEDIA_TYPES.ociManifest, tag, call());
}

/** cosign v2: one `.sig` image per artifact, one layer per signature. */
export async function attachLegacy(
  repository: Repository,
  subject: Descriptor,
  signatures: readonly LegacyMaterial[],
): Promise<Descriptor> {
  const layers: Descriptor[] = [];
  for (const signature of signatures) {
    const blob = await repository.pushBlob(signature.payload, MEDIA_TYPES.cosignSimpleSigning, call());
    layers.push({ ...blob, annotations: signature.annotations });
  }
  const imageConfig = {
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: [{ created: '0001-01-01T00:00:00Z' }],
    os: '',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    config: {},
  };
  const config = await repository.pushBlob(json(imageConfig), 'application/vnd.oci.image.config.v1+json', call());
  const manifest = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers };
  return repository.pushManifest(
    json(manifest),
    MEDIA_TYPES.ociManifest,
    `${subject.digest.replace(':', '-')}.sig`,
    call(),
  );
}

/**
 * cosign v3 `WriteReferrer`: pushed by digest; like go-containerregistry on a registry without the referrers
 * API (Debian's distribution 2.8), it also adds the referrer to the `sha256-<hex>` tag-schema index.
 */
export async function attachBundle(
  repository: Repository,
  subject: Descriptor,
  bundle: object,
  predicateType = COSIGN_SIGN_PREDICATE,
): Promise<Descriptor> {
  const empty = await repository.pushBlob(Buffer.from('{}'), MEDIA_TYPES.ociEmpty, call());
  const layer = await repository.pushBlob(json(bundle), MEDIA_TYPES.sigstoreBundleV03, call());
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: MEDIA_TYPES.sigstoreBundleV03,
    config: { ...empty, artifactType: MEDIA_TYPES.sigstoreBundleV03 },
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: {
      'org.opencontainers.image.created': new Date().toISOString(),
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': predicateType,
    },
  };
  const referrer = await repository.pushManifest(json(manifest), MEDIA_TYPES.ociManifest, undefined, call());
  await addToReferrersTag(repository, subject, {
    ...referrer,
    artifactType: manifest.artifactType,
    annotations: manifest.annotations,
  });
  return referrer;
}

async function addToReferrersTag(repository: Repository, subject: Descriptor, referrer: Descriptor): Promise<void> {
  const tag = subject.digest.replace(':', '-');
  let manifests: Descriptor[] = [];
  try {
    const { bytes } = await repository.fetchManifest(tag, call());
    manifests = (JSON.parse(Buffer.from(bytes).toString()) as { manifests: Descriptor[] }).manifests;
  } catch (error) {
    if ((error as { code?: string }).code !== 'PW_MANIFEST_UNKNOWN') throw error;
  }
  const index = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [...manifests, referrer] };
  await repository.pushManifest(json(index), MEDIA_TYPES.ociIndex, tag, call());
}
