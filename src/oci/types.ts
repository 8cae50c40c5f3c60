/**
 * The OCI distribution contract every adapter and fake implements (ORAS-shaped: resolve, fetch, tags,
 * referrers, push). After `resolve`, everything is addressed by descriptor: manifests are returned only after
 * their size and sha256 matched, and blobs stream through a check that fails the stream before it ends when
 * they do not (`fetchAll` collects a small one).
 */
import type { Readable } from 'node:stream';

export type Digest = `sha256:${string}`;

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  fluxConfig: 'application/vnd.cncf.flux.config.v1+json',
  fluxContent: 'application/vnd.cncf.flux.content.v1.tar+gzip',
  cosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  sigstoreBundleV03: 'application/vnd.dev.sigstore.bundle.v0.3+json',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** Every I/O call carries a deadline. */
export interface Call {
  signal: AbortSignal;
  /**
   * When the signal will fire, in ms since the epoch (the same clock the adapter uses), if known. Lets a
   * client fail at once instead of sleeping past the deadline (e.g. a `Retry-After` longer than the time left).
   */
  deadline?: number;
}

export interface FetchedManifest {
  descriptor: Descriptor;
  /** Exact bytes as served; their sha256 equals descriptor.digest. */
  bytes: Uint8Array;
}

export interface FetchOptions {
  /** Largest `descriptor.size` accepted (default: the repository's blob cap). */
  maxBytes?: number;
}

export interface Repository {
  /** `registry/path`, without scheme, tag or digest. */
  readonly name: string;
  /** Tag or `sha256:` digest → manifest descriptor (HEAD, GET fallback). */
  resolve(reference: string, call: Call): Promise<Descriptor>;
  /** Tag or digest → manifest bytes, digest-checked (by the requested digest, or the served one for a tag). */
  fetchManifest(reference: string, call: Call): Promise<FetchedManifest>;
  /**
   * The blob as a stream, refused up front when `descriptor.size` is over the cap. The stream counts and hashes
   * as it flows: more bytes than `size` fail at once, and a short or altered body fails with PW_DIGEST_MISMATCH
   * instead of ending. Registry answers (404, auth) reject the promise; the caller must consume or destroy
   * the stream.
   */
  fetch(descriptor: Descriptor, call: Call, options?: FetchOptions): Promise<Readable>;
  /** All tags, following Link pagination. */
  tags(call: Call): AsyncIterable<string>;
  /** Referrers of a manifest: the API, falling back to the `sha256-<hex>` tag schema. */
  referrers(subject: Descriptor, artifactType: string | undefined, call: Call): Promise<Descriptor[]>;
  pushBlob(bytes: Uint8Array, mediaType: string, call: Call): Promise<Descriptor>;
  /** Pushes a manifest by digest, or under `tag` when given. */
  pushManifest(bytes: Uint8Array, mediaType: string, tag: string | undefined, call: Call): Promise<Descriptor>;
}
