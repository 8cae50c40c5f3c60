import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PinwardenError } from '../../../src/core/errors.ts';
import { packArtifact, pushArtifact } from '../../../src/artifact/index.ts';
import { pullArtifact } from '../../../src/flows/index.ts';
import type { PullVerification, SignatureVerifier } from '../../../src/flows/index.ts';
import { MEDIA_TYPES, MemoryRepository, sha256Digest } from '../../../src/oci/index.ts';
import type { Call, Descriptor, Repository } from '../../../src/oci/index.ts';
import type { VerifiedSignature } from '../../../src/signature/index.ts';
import { tarGz } from '../../helpers/tarballs.ts';

const call = (): Call => ({ signal: new AbortController().signal });

interface Setup {
  repository: MemoryRepository;
  manifest: Descriptor;
  layer: Descriptor;
  parent: string;
  target: string;
  cleanup: () => Promise<void>;
}

async function setup(): Promise<Setup> {
  const parent = await mkdtemp(join(tmpdir(), 'pw-pull-'));
  const source = join(parent, 'src');
  await mkdir(join(source, 'apps'), { recursive: true });
  await writeFile(join(source, 'apps', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n');
  const repository = new MemoryRepository('registry.local/acme/app');
  const artifact = await packArtifact({
    path: source,
    source: 'https://github.com/acme/app',
    revision: 'main@sha1:1111111111111111111111111111111111111111',
    reproducible: true,
  });
  const manifest = await pushArtifact(repository, artifact, 'v1', call());
  await rm(source, { recursive: true });
  return {
    repository,
    manifest,
    layer: artifact.layer.descriptor,
    parent,
    target: join(parent, 'out'),
    cleanup: () => rm(parent, { recursive: true, force: true }),
  };
}

/** Records the order of registry reads, so a test can see what happened before what. */
function recording(inner: Repository, log: string[]): Repository {
  return {
    name: inner.name,
    resolve: (reference, c) => inner.resolve(reference, c),
    fetchManifest: (reference, c) => {
      log.push(`manifest ${reference}`);
      return inner.fetchManifest(reference, c);
    },
    fetch: (descriptor, c, options) => {
      log.push(`blob ${descriptor.mediaType}`);
      return inner.fetch(descriptor, c, options);
    },
    tags: (c) => inner.tags(c),
    referrers: (subject, type, c) => inner.referrers(subject, type, c),
    pushBlob: (bytes, type, c) => inner.pushBlob(bytes, type, c),
    pushManifest: (bytes, type, tag, c) => inner.pushManifest(bytes, type, tag, c),
  };
}

const SIGNED: VerifiedSignature = {
  kind: 'bundle',
  mode: 'keyless',
  source: 'referrers',
  issuer: 'https://token.actions.githubusercontent.com',
  subjects: ['https://github.com/acme/app/.github/workflows/release.yaml@refs/heads/main'],
} as unknown as VerifiedSignature;

function verification(verify: SignatureVerifier): PullVerification {
  return {
    block: { provider: 'cosign', matchOIDCIdentity: [{ issuer: '.*', subject: '.*' }] },
    options: {},
    checks: { bindingMode: 'off' },
    verify,
  };
}

function hasCode(code: string, message?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof PinwardenError, String(error));
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  };
}

test('pullArtifact: manifest, config, verification, then the layer; extracted with annotations and sizes', async () => {
  const s = await setup();
  try {
    const log: string[] = [];
    const verify: SignatureVerifier = async (_repository, subject) => {
      log.push(`verify ${subject.digest}`);
      return SIGNED;
    };
    const pulled = await pullArtifact({
      repository: recording(s.repository, log),
      subject: s.manifest.digest,
      verification: verification(verify),
      destination: s.target,
      call: call(),
    });
    assert.deepEqual(log, [
      `manifest ${s.manifest.digest}`,
      `blob ${MEDIA_TYPES.fluxConfig}`,
      `verify ${s.manifest.digest}`,
      `blob ${MEDIA_TYPES.fluxContent}`,
    ]);
    assert.equal(pulled.digest, s.manifest.digest);
    assert.equal(pulled.size, s.layer.size);
    assert.equal(
      pulled.annotations['org.opencontainers.image.revision'],
      'main@sha1:1111111111111111111111111111111111111111',
    );
    assert.equal(pulled.signature, SIGNED);
    assert.equal(pulled.files, 1);
    assert.equal(
      await readFile(join(s.target, 'apps', 'cm.yaml'), 'utf8'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n',
    );
  } finally {
    await s.cleanup();
  }
});

test('pullArtifact: a failed verification fetches no layer byte and leaves no directory', async () => {
  const s = await setup();
  try {
    const log: string[] = [];
    const verify: SignatureVerifier = async () => {
      throw new PinwardenError('PW_SIGNATURE_INVALID', 'no signature verified');
    };
    await assert.rejects(
      pullArtifact({
        repository: recording(s.repository, log),
        subject: s.manifest.digest,
        verification: verification(verify),
        destination: s.target,
        call: call(),
      }),
      hasCode('PW_SIGNATURE_INVALID'),
    );
    assert.equal(log.includes(`blob ${MEDIA_TYPES.fluxContent}`), false, 'the layer was never requested');
    assert.deepEqual(await readdir(s.parent), []);
  } finally {
    await s.cleanup();
  }
});

test('pullArtifact: a layer whose bytes do not match its digest leaves nothing behind', async () => {
  const s = await setup();
  try {
    s.repository.tamperBlob(
      s.layer.digest,
      await tarGz([{ name: 'evil.yaml', content: 'kind: ClusterRoleBinding\n' }]),
    );
    await assert.rejects(
      pullArtifact({
        repository: s.repository,
        subject: s.manifest.digest,
        verification: verification(async () => SIGNED),
        destination: s.target,
        call: call(),
      }),
      hasCode('PW_DIGEST_MISMATCH'),
    );
    assert.deepEqual(await readdir(s.parent), []);
  } finally {
    await s.cleanup();
  }
});

test('pullArtifact: a config blob that does not match is refused before verification and extraction', async () => {
  const s = await setup();
  try {
    const manifestJson = JSON.parse(
      new TextDecoder().decode((await s.repository.fetchManifest(s.manifest.digest, call())).bytes),
    );
    s.repository.tamperBlob(manifestJson.config.digest, new TextEncoder().encode('{"tampered":true}'));
    let verified = false;
    await assert.rejects(
      pullArtifact({
        repository: s.repository,
        subject: s.manifest.digest,
        verification: verification(async () => {
          verified = true;
          return SIGNED;
        }),
        destination: s.target,
        call: call(),
      }),
      hasCode('PW_DIGEST_MISMATCH'),
    );
    assert.equal(verified, false);
    assert.deepEqual(await readdir(s.parent), []);
  } finally {
    await s.cleanup();
  }
});

test('pullArtifact: a manifest descriptor with the wrong size is refused', async () => {
  const s = await setup();
  try {
    await assert.rejects(
      pullArtifact({
        repository: s.repository,
        subject: { ...s.manifest, size: s.manifest.size + 1 },
        verification: undefined,
        destination: s.target,
        call: call(),
      }),
      hasCode('PW_DIGEST_MISMATCH', /the descriptor says/),
    );
  } finally {
    await s.cleanup();
  }
});

test("pullArtifact: layerSelector picks the layer by media type; copy stores it unchanged; no match is Flux's message", async () => {
  const s = await setup();
  try {
    const extra = await tarGz([{ name: 'chart/Chart.yaml', content: 'name: demo\n' }]);
    const extraLayer = await s.repository.pushBlob(
      extra,
      'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
      call(),
    );
    const original = JSON.parse(
      new TextDecoder().decode((await s.repository.fetchManifest(s.manifest.digest, call())).bytes),
    );
    const twoLayers = { ...original, layers: [...original.layers, extraLayer] };
    const manifest = await s.repository.pushJson(twoLayers);
    const pulled = await pullArtifact({
      repository: s.repository,
      subject: manifest.digest,
      verification: undefined,
      layerSelector: { mediaType: extraLayer.mediaType },
      destination: s.target,
      call: call(),
    });
    assert.equal(await readFile(join(s.target, 'chart', 'Chart.yaml'), 'utf8'), 'name: demo\n');
    assert.equal(pulled.layer.digest, extraLayer.digest);
    const copyTarget = join(s.parent, 'copy');
    const copied = await pullArtifact({
      repository: s.repository,
      subject: manifest.digest,
      verification: undefined,
      layerSelector: { mediaType: extraLayer.mediaType, operation: 'copy' },
      destination: copyTarget,
      call: call(),
    });
    assert.equal(copied.file, join(copyTarget, `${extraLayer.digest.slice(7)}.tgz`));
    assert.equal(sha256Digest(await readFile(copied.file ?? '')), extraLayer.digest);
    await assert.rejects(
      pullArtifact({
        repository: s.repository,
        subject: manifest.digest,
        verification: undefined,
        layerSelector: { mediaType: 'application/x-nothing' },
        destination: join(s.parent, 'none'),
        call: call(),
      }),
      hasCode('PW_ARTIFACT_INVALID', /failed to find layer with media type 'application\/x-nothing'/),
    );
  } finally {
    await s.cleanup();
  }
});

test('pullArtifact: an image index is not an artifact', async () => {
  const s = await setup();
  try {
    const index = await s.repository.pushJson(
      { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [s.manifest] },
      undefined,
      MEDIA_TYPES.ociIndex,
    );
    await assert.rejects(
      pullArtifact({
        repository: s.repository,
        subject: index.digest,
        verification: undefined,
        destination: s.target,
        call: call(),
      }),
      hasCode('PW_ARTIFACT_INVALID', /not an image manifest/),
    );
  } finally {
    await s.cleanup();
  }
});

test('pullArtifact: a layer over the size cap is refused before it is fetched', async () => {
  const s = await setup();
  try {
    const log: string[] = [];
    await assert.rejects(
      pullArtifact({
        repository: recording(s.repository, log),
        subject: s.manifest.digest,
        verification: undefined,
        destination: s.target,
        limits: { maxBytes: 10 },
        call: call(),
      }),
      hasCode('PW_TOO_LARGE', /over the 10-byte cap/),
    );
    assert.equal(log.includes(`blob ${MEDIA_TYPES.fluxContent}`), false);
  } finally {
    await s.cleanup();
  }
});
