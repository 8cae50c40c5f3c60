/**
 * In-memory Repository: the unit-test fake (as ORAS's memory store is). Same contract as the HTTP client,
 * including digest checks and the referrers answer built from stored manifests' `subject` fields.
 */
import { PinwardenError } from '../core/errors.ts';
import { Readable } from 'node:stream';
import { isDigest, sha256Digest } from './digest.ts';
import type { Call, Descriptor, FetchOptions, FetchedManifest, Repository } from './types.ts';
import { verifiedStream } from './verified-stream.ts';
import { MEDIA_TYPES } from './types.ts';

interface StoredManifest {
  descriptor: Descriptor;
  bytes: Uint8Array;
}

export class MemoryRepository implements Repository {
  readonly name: string;
  private readonly blobs = new Map<string, Uint8Array>();
  private readonly manifests = new Map<string, StoredManifest>();
  private readonly tagIndex = new Map<string, string>();

  constructor(name = 'memory.local/repo') {
    this.name = name;
  }

  resolve(reference: string, call: Call): Promise<Descriptor> {
    return Promise.resolve(this.lookup(reference, call).descriptor);
  }

  fetchManifest(reference: string, call: Call): Promise<FetchedManifest> {
    const stored = this.lookup(reference, call);
    return Promise.resolve({ descriptor: stored.descriptor, bytes: stored.bytes.slice() });
  }

  fetch(descriptor: Descriptor, call: Call, options: FetchOptions = {}): Promise<Readable> {
    call.signal.throwIfAborted();
    const maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
    if (descriptor.size > maxBytes) {
      throw new PinwardenError(
        'PW_TOO_LARGE',
        `blob ${descriptor.digest} is ${descriptor.size} bytes, over the ${maxBytes}-byte cap`,
        { details: { size: descriptor.size, cap: maxBytes } },
      );
    }
    const bytes = this.blobs.get(descriptor.digest) ?? this.manifests.get(descriptor.digest)?.bytes;
    if (!bytes) throw new PinwardenError('PW_MANIFEST_UNKNOWN', `blob ${descriptor.digest} not found in ${this.name}`);
    const what = `blob ${descriptor.digest}`;
    // 64 KiB chunks, like a socket: the checks run as the content flows, not once on a whole buffer.
    const chunks = (function* () {
      for (let at = 0; at < bytes.byteLength; at += 65_536) yield Buffer.from(bytes.subarray(at, at + 65_536));
    })();
    return Promise.resolve(
      verifiedStream(
        Readable.from(chunks, { objectMode: false }),
        descriptor,
        { what, signal: call.signal },
        (error) =>
          call.signal.aborted
            ? new PinwardenError('PW_DEADLINE', `${what}: deadline exceeded`, { cause: error })
            : new PinwardenError('PW_INTERNAL', `${what}: read failed`, { cause: error }),
      ),
    );
  }

  /** Test helper: serves other bytes under `digest` from now on (a registry or mirror that lies). */
  tamperBlob(digest: string, bytes: Uint8Array): void {
    this.blobs.set(digest, bytes.slice());
  }

  async *tags(call: Call): AsyncIterable<string> {
    call.signal.throwIfAborted();
    yield* [...this.tagIndex.keys()].sort();
  }

  referrers(subject: Descriptor, artifactType: string | undefined, call: Call): Promise<Descriptor[]> {
    call.signal.throwIfAborted();
    const found: Descriptor[] = [];
    for (const { descriptor, bytes } of this.manifests.values()) {
      const parsed = JSON.parse(new TextDecoder().decode(bytes)) as {
        subject?: { digest?: string };
        artifactType?: string;
        config?: { mediaType?: string };
        annotations?: Record<string, string>;
      };
      if (parsed.subject?.digest !== subject.digest) continue;
      const type = parsed.artifactType ?? parsed.config?.mediaType;
      if (artifactType !== undefined && type !== artifactType) continue;
      found.push({
        ...descriptor,
        ...(type ? { artifactType: type } : {}),
        ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
      });
    }
    return Promise.resolve(found);
  }

  pushBlob(bytes: Uint8Array, mediaType: string, call: Call): Promise<Descriptor> {
    call.signal.throwIfAborted();
    const descriptor: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength };
    this.blobs.set(descriptor.digest, bytes.slice());
    return Promise.resolve(descriptor);
  }

  pushManifest(bytes: Uint8Array, mediaType: string, tag: string | undefined, call: Call): Promise<Descriptor> {
    call.signal.throwIfAborted();
    const descriptor: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength };
    this.manifests.set(descriptor.digest, { descriptor, bytes: bytes.slice() });
    if (tag !== undefined) this.tagIndex.set(tag, descriptor.digest);
    return Promise.resolve(descriptor);
  }

  /** Test helper: pushes a JSON manifest object and returns its descriptor. */
  async pushJson(manifest: object, tag?: string, mediaType: string = MEDIA_TYPES.ociManifest): Promise<Descriptor> {
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    return this.pushManifest(bytes, mediaType, tag, { signal: new AbortController().signal });
  }

  private lookup(reference: string, call: Call): StoredManifest {
    call.signal.throwIfAborted();
    const digest = isDigest(reference) ? reference : this.tagIndex.get(reference);
    const stored = digest === undefined ? undefined : this.manifests.get(digest);
    if (!stored) throw new PinwardenError('PW_MANIFEST_UNKNOWN', `manifest ${reference} not found in ${this.name}`);
    return stored;
  }
}
