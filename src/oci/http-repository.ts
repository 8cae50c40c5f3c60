/**
 * `Repository` over the OCI distribution spec
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md). Manifests and blobs are returned
 * only after their size and sha256 matched; a HEAD without `Docker-Content-Digest` is not trusted (we GET
 * and hash instead), following ORAS `manifestStore.generateDescriptor`.
 */
import { PinwardenError } from '../core/errors.ts';
import { readCapped } from './body.ts';
import { createRegistryClient } from './client.ts';
import type { RegistryClient, RegistryClientOptions, RegistryResponse } from './client.ts';
import { credentialsIdentity } from './credentials.ts';
import { checkBlobSize } from './fetch-all.ts';
import { isDigest, sha256Digest } from './digest.ts';
import { MANIFEST_ACCEPT, MANIFEST_MEDIA_TYPES, bareMediaType, manifestMediaType } from './manifest.ts';
import { isValidTag, parseRepositoryUrl, repositoryName } from './reference.ts';
import type { RepositoryRef } from './reference.ts';
import { listReferrers } from './referrers.ts';
import { redactUrl } from './registry-error.ts';
import { listTags } from './tags.ts';
import { tlsIdentity } from './tls.ts';
import type { Call, Descriptor, FetchOptions, FetchedManifest, Repository } from './types.ts';
import { verifiedStream } from './verified-stream.ts';
import { deadlineError } from './retry.ts';
import type { Readable } from 'node:stream';

export interface HttpRepositoryOptions extends Omit<RegistryClientOptions, 'host' | 'repository'> {
  /** Manifest size cap (default 4 MiB, as distribution and containerd use). */
  maxManifestBytes?: number;
  /** Largest blob `fetch` accepts when called without a cap (default 1 GiB; a fetch streams, it buffers no blob). */
  maxBlobBytes?: number;
  /** `n` for tags and referrers pages (default 1000) and the page limit (default 100). */
  pageSize?: number;
  maxPages?: number;
  /**
   * `resolve` reads and checks the manifest (GET) instead of trusting a HEAD's Docker-Content-Digest: what a
   * webhook pins must be a manifest whose bytes hash to the digest, not whatever a header claims.
   */
  verifyOnResolve?: boolean;
}

const MIB = 1024 * 1024;

export class HttpRepository implements Repository {
  readonly name: string;
  readonly ref: RepositoryRef;
  /** Distinguishes callers who may see different content (credentials, trust, scheme) for caches. */
  readonly cacheIdentity: string;
  private readonly client: RegistryClient;
  private readonly limits: { manifest: number; blob: number; pageSize: number; maxPages: number };
  private readonly verifyOnResolve: boolean;

  constructor(ref: RepositoryRef, options: HttpRepositoryOptions = {}) {
    this.ref = ref;
    this.name = repositoryName(ref);
    this.cacheIdentity = [
      this.name,
      credentialsIdentity(options.credentials),
      tlsIdentity(options.tls),
      options.insecure === true ? 'insecure' : 'secure',
      options.guard?.identity ?? 'unguarded',
    ].join('|');
    this.verifyOnResolve = options.verifyOnResolve === true;
    this.client = createRegistryClient({ ...options, host: ref.host, repository: ref.path });
    this.limits = {
      manifest: options.maxManifestBytes ?? 4 * MIB,
      blob: options.maxBlobBytes ?? 1024 * MIB,
      pageSize: options.pageSize ?? 1000,
      maxPages: options.maxPages ?? 100,
    };
  }

  /** From an OCIRepository `spec.url` (`oci://host/path`, no tag). */
  static fromUrl(url: string, options: HttpRepositoryOptions = {}): HttpRepository {
    return new HttpRepository(parseRepositoryUrl(url), options);
  }

  async resolve(reference: string, call: Call): Promise<Descriptor> {
    if (this.verifyOnResolve) return (await this.fetchManifest(reference, call)).descriptor;
    const target = this.manifestPath(reference);
    const response = await this.client.send(
      { method: 'HEAD', target, headers: { accept: MANIFEST_ACCEPT }, endpoint: 'manifest', action: 'pull' },
      call,
    );
    response.body.resume();
    if (response.status >= 200 && response.status < 300) {
      const descriptor = descriptorFromHead(response, reference);
      if (descriptor) return descriptor;
    } else if (isFinalFailure(response.status)) {
      throw await this.manifestFailure(response, reference, call);
    }
    // distribution-spec: HEAD may omit Docker-Content-Digest, and some registries refuse HEAD: GET and hash.
    return (await this.fetchManifest(reference, call)).descriptor;
  }

  async fetchManifest(reference: string, call: Call): Promise<FetchedManifest> {
    const target = this.manifestPath(reference);
    const response = await this.client.send(
      { method: 'GET', target, headers: { accept: MANIFEST_ACCEPT }, endpoint: 'manifest', action: 'pull' },
      call,
    );
    if (response.status < 200 || response.status >= 300) throw await this.manifestFailure(response, reference, call);
    const what = `GET ${redactUrl(response.url)}`;
    const bytes = await readCapped(response, this.limits.manifest, { what, signal: call.signal });
    const digest = sha256Digest(bytes);
    checkServedDigest(response, digest, reference, bytes.byteLength, what);
    const accepted = manifestMediaType(headerText(response, 'content-type'), bytes);
    if ('why' in accepted)
      throw new PinwardenError('PW_REGISTRY_PROTOCOL', `${what}: ${accepted.why}; nothing pinned`, {
        details: { status: response.status, host: response.url.host },
      });
    return { descriptor: { mediaType: accepted.mediaType, digest, size: bytes.byteLength }, bytes };
  }

  async fetch(descriptor: Descriptor, call: Call, options: FetchOptions = {}): Promise<Readable> {
    if (!isDigest(descriptor.digest))
      throw new PinwardenError('PW_REF_INVALID', `unsupported blob digest '${String(descriptor.digest).slice(0, 80)}'`);
    const maxBytes = options.maxBytes ?? this.limits.blob;
    checkBlobSize(descriptor, maxBytes);
    const target = `/v2/${this.ref.path}/blobs/${descriptor.digest}`;
    const response = await this.client.send({ method: 'GET', target, endpoint: 'blob', action: 'pull' }, call);
    if (response.status < 200 || response.status >= 300) throw await this.client.failure(response, call);
    const what = `GET ${redactUrl(response.url)}`;
    const declared = headerText(response, 'content-length');
    if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) !== descriptor.size) {
      response.body.resume();
      throw new PinwardenError(
        'PW_DIGEST_MISMATCH',
        `${what}: Content-Length ${declared} does not match the expected size ${descriptor.size}`,
      );
    }
    return verifiedStream(response.body, descriptor, { what, signal: call.signal }, (error) =>
      call.signal.aborted
        ? deadlineError(what, call.signal)
        : new PinwardenError('PW_REGISTRY_UNREACHABLE', `${what}: the connection failed while reading the body`, {
            cause: error,
          }),
    );
  }

  tags(call: Call): AsyncIterable<string> {
    return listTags({ client: this.client, path: this.ref.path, ...this.limits, maxBytes: this.limits.manifest }, call);
  }

  referrers(subject: Descriptor, artifactType: string | undefined, call: Call): Promise<Descriptor[]> {
    return listReferrers(
      { client: this.client, path: this.ref.path, repository: this, ...this.limits, maxBytes: this.limits.manifest },
      subject,
      artifactType,
      call,
    );
  }

  async pushBlob(bytes: Uint8Array, mediaType: string, call: Call): Promise<Descriptor> {
    const descriptor: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength };
    const blobPath = `/v2/${this.ref.path}/blobs/${descriptor.digest}`;
    const existing = await this.client.send(
      { method: 'HEAD', target: blobPath, endpoint: 'blob', action: 'push' },
      call,
    );
    existing.body.resume();
    if (existing.status === 200) return descriptor;
    // https://github.com/opencontainers/distribution-spec/blob/main/spec.md#post-then-put
    const started = await this.client.send(
      { method: 'POST', target: `/v2/${this.ref.path}/blobs/uploads/`, endpoint: 'upload', action: 'push' },
      call,
    );
    if (started.status !== 202) throw await this.client.failure(started, call);
    started.body.resume();
    const location = headerText(started, 'location');
    if (location === undefined)
      throw new PinwardenError(
        'PW_REGISTRY_PROTOCOL',
        `POST ${redactUrl(started.url)}: upload accepted without a Location`,
      );
    const uploadUrl = new URL(location, started.url);
    uploadUrl.searchParams.set('digest', descriptor.digest);
    const headers = { 'content-type': 'application/octet-stream' };
    const finished = await this.client.send(
      { method: 'PUT', target: uploadUrl, headers, body: bytes, endpoint: 'upload', action: 'push' },
      call,
    );
    if (finished.status !== 201) throw await this.client.failure(finished, call);
    finished.body.resume();
    return descriptor;
  }

  async pushManifest(bytes: Uint8Array, mediaType: string, tag: string | undefined, call: Call): Promise<Descriptor> {
    const descriptor: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength };
    const target = this.manifestPath(tag ?? descriptor.digest);
    const response = await this.client.send(
      {
        method: 'PUT',
        target,
        headers: { 'content-type': mediaType },
        body: bytes,
        endpoint: 'manifest',
        action: 'push',
      },
      call,
    );
    if (response.status < 200 || response.status >= 300) throw await this.client.failure(response, call);
    response.body.resume();
    const served = headerText(response, 'docker-content-digest');
    if (served !== undefined && isDigest(served) && served !== descriptor.digest) {
      throw new PinwardenError(
        'PW_DIGEST_MISMATCH',
        `PUT ${redactUrl(response.url)}: registry stored ${served}, we sent ${descriptor.digest}`,
      );
    }
    return descriptor;
  }

  /** Closes the repository's own or injected transport; pooled connections stay open until their owner closes them. */
  close(): void {
    this.client.close();
  }

  private manifestPath(reference: string): string {
    if (!isDigest(reference) && !isValidTag(reference)) {
      throw new PinwardenError('PW_REF_INVALID', `'${reference.slice(0, 130)}' is neither a tag nor a sha256 digest`);
    }
    return `/v2/${this.ref.path}/manifests/${reference}`;
  }

  private async manifestFailure(response: RegistryResponse, reference: string, call: Call): Promise<PinwardenError> {
    const error = await this.client.failure(response, call, { reference });
    if (response.status !== 404 || response.method !== 'HEAD') return error;
    // A HEAD has no error body; say what GET would have said.
    return new PinwardenError(
      'PW_MANIFEST_UNKNOWN',
      `${error.message} MANIFEST_UNKNOWN: manifest ${reference} not found in ${this.name}`,
      { details: error.details },
    );
  }
}

/** Answers that a GET would not change: auth, missing, rate limit (after retries), server errors. */
function isFinalFailure(status: number): boolean {
  return status === 401 || status === 403 || status === 404 || status === 429 || status >= 500;
}

/** A trustworthy descriptor from HEAD headers, or undefined when a GET is needed. */
function descriptorFromHead(response: RegistryResponse, reference: string): Descriptor | undefined {
  const header = headerText(response, 'docker-content-digest');
  const digest = header !== undefined && isDigest(header) ? header : isDigest(reference) ? reference : undefined;
  const length = headerText(response, 'content-length');
  const mediaType = bareMediaType(headerText(response, 'content-type'));
  if (
    digest === undefined ||
    length === undefined ||
    !/^\d+$/.test(length) ||
    mediaType === undefined ||
    !MANIFEST_MEDIA_TYPES.includes(mediaType)
  )
    return undefined;
  if (isDigest(reference) && digest !== reference) {
    throw new PinwardenError('PW_DIGEST_MISMATCH', `HEAD ${redactUrl(response.url)}: registry answered with ${digest}`);
  }
  return { mediaType, digest, size: Number(length) };
}

function checkServedDigest(
  response: RegistryResponse,
  digest: string,
  reference: string,
  size: number,
  what: string,
): void {
  if (isDigest(reference) && digest !== reference) {
    throw new PinwardenError(
      'PW_DIGEST_MISMATCH',
      `${what}: content digest ${digest} does not match the requested ${reference}`,
    );
  }
  const served = headerText(response, 'docker-content-digest');
  if (served !== undefined && isDigest(served) && served !== digest) {
    throw new PinwardenError(
      'PW_DIGEST_MISMATCH',
      `${what}: Docker-Content-Digest ${served} does not match the content's ${digest}`,
    );
  }
  const length = headerText(response, 'content-length');
  if (length !== undefined && /^\d+$/.test(length) && Number(length) !== size) {
    throw new PinwardenError('PW_DIGEST_MISMATCH', `${what}: got ${size} bytes, Content-Length said ${length}`);
  }
}

function headerText(response: RegistryResponse, name: string): string | undefined {
  const value = response.headers[name];
  return typeof value === 'string' ? value : Array.isArray(value) ? value[0] : undefined;
}
