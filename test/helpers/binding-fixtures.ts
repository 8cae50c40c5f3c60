// Artifacts for commit-binding tests: a Flux-shaped artifact whose manifest carries the
// `org.opencontainers.image.source` / `.revision` annotations `flux push artifact` writes, signed (legacy .sig or
// v0.3 bundle) by a Fulcio-like leaf carrying the workflow claims of a given repository, commit and ref.
import type { Call, Descriptor, Repository } from '../../src/oci/types.ts';
import { MEDIA_TYPES } from '../../src/oci/types.ts';
import type { ClaimExtension, SigstoreFixture } from './sigstore-fixtures.ts';
import { mintLeaf } from './sigstore-fixtures.ts';
import { attachBundle, attachLegacy, dsseBundle, legacySignature } from './sigstore-fixtures-sign.ts';

export const COMMIT = '2222222222222222222222222222222222222222';
export const OTHER_COMMIT = '1111111111111111111111111111111111111111';
export const COMMIT_SHA256 = 'ab'.repeat(32);
export const GITHUB_REPO_URL = 'https://github.com/acme/app';

const call = (): Call => ({ signal: AbortSignal.timeout(10_000) });
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** Source and revision as `flux push artifact --source --revision` writes them; undefined leaves one out. */
export function fluxAnnotations(
  revision: string | undefined,
  source: string | undefined = GITHUB_REPO_URL,
): Record<string, string> {
  return {
    'org.opencontainers.image.created': '2026-12-01T00:00:00Z',
    ...(source !== undefined ? { 'org.opencontainers.image.source': source } : {}),
    ...(revision !== undefined ? { 'org.opencontainers.image.revision': revision } : {}),
  };
}

let counter = 0;

/** A config + one layer + an OCI manifest with `annotations`, unique content per call. */
export async function pushAnnotatedArtifact(
  repository: Repository,
  annotations: Record<string, string>,
  tag?: string,
): Promise<Descriptor> {
  counter += 1;
  const config = await repository.pushBlob(Buffer.from('{}'), MEDIA_TYPES.fluxConfig, call());
  const layer = await repository.pushBlob(
    Buffer.from(`manifests ${counter} ${Math.random()}`),
    MEDIA_TYPES.fluxContent,
    call(),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: 'application/vnd.cncf.flux.config.v1+json',
    config,
    layers: [layer],
    annotations,
  };
  return repository.pushManifest(json(manifest), MEDIA_TYPES.ociManifest, tag, call());
}

export interface SignWith {
  claims: readonly ClaimExtension[];
  subject?: string;
  issuer?: string;
  format?: 'legacy' | 'bundle';
}

/** Signs `artifact` keylessly with a leaf carrying `claims`, attached the way cosign v2 (legacy) or v3 (bundle) does. */
export async function signKeyless(
  fixture: SigstoreFixture,
  repository: Repository,
  artifact: Descriptor,
  sign: SignWith,
): Promise<void> {
  const leaf = await mintLeaf(fixture.ca, {
    claims: sign.claims,
    ...(sign.subject ? { subject: sign.subject } : {}),
    ...(sign.issuer ? { issuer: sign.issuer } : {}),
  });
  if (sign.format === 'bundle')
    await attachBundle(repository, artifact, dsseBundle(leaf, artifact.digest, { rekor: fixture.rekor }));
  else
    await attachLegacy(repository, artifact, [
      legacySignature(leaf, repository.name, artifact.digest, { rekor: fixture.rekor }),
    ]);
}
