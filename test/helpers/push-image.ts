/**
 * Pushes small artifacts to a test registry for webhook tests: a plain image (which `skopeo inspect` can
 * read) or a real Flux artifact (`packArtifact` of a manifests folder, as `flux push artifact` lays it out).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packArtifact, pushArtifact } from '../../src/artifact/index.ts';
import { HttpRepository, MEDIA_TYPES, callWithTimeout, parseReference } from '../../src/oci/index.ts';
import type { Credentials, TlsOptions } from '../../src/oci/index.ts';

export interface PushTarget {
  host: string;
  path: string;
  insecure?: boolean;
  tls?: TlsOptions;
  credentials?: Credentials;
}

function open(target: PushTarget): HttpRepository {
  return new HttpRepository(parseReference(`oci://${target.host}/${target.path}`), {
    ...(target.insecure ? { insecure: true } : {}),
    ...(target.tls ? { tls: target.tls } : {}),
    ...(target.credentials ? { credentials: target.credentials } : {}),
  });
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

/** A one-layer OCI image; `seed` makes its digest unique. Returns the manifest digest. */
export async function pushImage(target: PushTarget, tag: string, seed = tag): Promise<string> {
  const repo = open(target);
  try {
    const call = callWithTimeout(10_000);
    const layer = await repo.pushBlob(
      new TextEncoder().encode(`layer ${seed}`),
      'application/vnd.oci.image.layer.v1.tar',
      call,
    );
    const config = await repo.pushBlob(
      json({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [] },
        config: { Labels: { seed } },
      }),
      'application/vnd.oci.image.config.v1+json',
      call,
    );
    const manifest = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers: [layer] };
    return (await repo.pushManifest(json(manifest), MEDIA_TYPES.ociManifest, tag, call)).digest;
  } finally {
    repo.close();
  }
}

/** A Flux OCI artifact of one small manifests folder. Returns the manifest digest. */
export async function pushFluxArtifact(target: PushTarget, tag: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pinwarden-artifact-'));
  const repo = open(target);
  try {
    await writeFile(join(dir, 'deploy.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: b}\n');
    const artifact = await packArtifact({
      path: dir,
      source: 'https://github.com/acme/fleet',
      revision: `main@sha1:${tag}`,
    });
    return (await pushArtifact(repo, artifact, tag, callWithTimeout(10_000))).digest;
  } finally {
    repo.close();
    await rm(dir, { recursive: true, force: true });
  }
}
