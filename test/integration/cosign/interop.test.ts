// Interop with the REAL cosign CLI (v3, built from Go modules by scripts/cosign-assets.ts) against Debian's real
// docker-registry: cosign makes the key pair (encrypted cosign.key) and signs, offline (no Rekor, no Fulcio), in
// both formats it writes here: the Sigstore bundle as an OCI 1.1 referrer (on distribution 2.8, which has no
// referrers API, go-containerregistry files it under the `sha256-<hex>` tag-schema index) and the legacy
// `sha256-<hex>.sig` image (`--new-bundle-format=false`). `pinwarden verify` and `pinwarden pull` must accept
// exactly what `cosign verify --key … --insecure-ignore-tlog` accepts: a different key, a signature replayed onto
// another digest and a tampered payload are refused by both. Without the binary every test fails with the
// one-line instruction (npm test builds it first): never a silent skip.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliInProcess } from '../../helpers/cli-in-process.ts';
import { MEDIA_TYPES } from '../../../src/oci/index.ts';
import type { Call, Descriptor, HttpRepository } from '../../../src/oci/index.ts';
import { findCosign } from '../../../scripts/cosign-assets.ts';
import type { TestRegistry } from '../../helpers/registry.ts';
import { startSigningWorkspace } from '../../helpers/signing-workspace.ts';
import type { SigningWorkspace } from '../../helpers/signing-workspace.ts';
import { attachBundle } from '../../helpers/sigstore-fixtures-sign.ts';

const PASSWORD = 'interop-test-password';
const call = (): Call => ({ signal: AbortSignal.timeout(30_000) });

let cosign: string;
let workspace: SigningWorkspace;
let registry: TestRegistry;
let repo: HttpRepository;
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real cosign, in the test's directory, with its own HOME (no TUF cache or docker config of the machine). */
function runCosign(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cosign,
      args,
      {
        cwd: dir,
        timeout: 120_000,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dir,
          TUF_ROOT: join(dir, '.sigstore'),
          COSIGN_PASSWORD: PASSWORD,
          DOCKER_CONFIG: join(dir, '.docker'),
        },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** pinwarden in-process, in the test's directory. */
async function pinwarden(...args: string[]): Promise<Run> {
  return runCliInProcess(args, { cwd: dir });
}

/** `pinwarden push` of a one-file artifact; returns its digest reference without the scheme. */
async function push(tag: string, greeting: string): Promise<string> {
  const content = join(dir, `content-${tag}`);
  mkdirSync(content, { recursive: true });
  writeFileSync(
    join(content, 'web.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {greeting: ${greeting}}\n`,
  );
  const run = await pinwarden(
    'push',
    content,
    `oci://${registry.host}/apps/shop:${tag}`,
    '--source',
    'https://github.com/acme/shop',
    '--revision',
    `main@sha1:${'1'.repeat(40)}`,
    '--insecure',
  );
  assert.equal(run.code, 0, run.stderr);
  const match = /^oci:\/\/(\S+@sha256:[0-9a-f]{64})$/m.exec(run.stdout);
  assert.ok(match, `push printed no digest reference: ${run.stdout}`);
  return match[1]!;
}

const digestOf = (ref: string): string => ref.slice(ref.indexOf('@') + 1);

async function descriptorOf(ref: string): Promise<Descriptor> {
  return repo.resolve(digestOf(ref), call());
}

const verifyKey = (ref: string, key = 'cosign.pub', ...extra: string[]) =>
  pinwarden('verify', `oci://${ref}`, '--key', key, '--insecure', '--timeout', '20s', ...extra);

/** `cosign sign --key`, offline: no Rekor upload, no signing config (it would be fetched from TUF). */
const cosignSign = (ref: string, key: string, ...extra: string[]) =>
  runCosign('sign', '--key', key, '--tlog-upload=false', '--use-signing-config=false', '--yes', ...extra, ref);

/** `cosign verify --key`, offline: no transparency log to look at. */
const cosignVerify = (ref: string, key: string, ...extra: string[]) =>
  runCosign('verify', '--key', key, '--insecure-ignore-tlog', ...extra, ref);

before(async () => {
  const found = findCosign();
  if ('error' in found) throw new Error(found.error);
  cosign = found.path;
  workspace = await startSigningWorkspace('pinwarden-cosign-interop-', 'apps/shop');
  ({ registry, repo, dir } = workspace);
  for (const prefix of ['cosign', 'intruder']) {
    const run = await runCosign('generate-key-pair', '--output-key-prefix', prefix);
    assert.equal(run.code, 0, run.stderr);
  }
});

after(() => workspace?.stop());

test('cosign generate-key-pair writes an encrypted private key and a P-256 public key', () => {
  const key = readFileSync(join(dir, 'cosign.key'), 'utf8');
  assert.match(key, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----/);
  assert.match(readFileSync(join(dir, 'cosign.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
});

interface Format {
  name: string;
  /** Extra `cosign sign`/`cosign verify` flags. */
  flags: string[];
  /** What pinwarden reports as the signature's kind. */
  kind: RegExp;
  /** Copies the signature of `from` onto `to` as it sits in the registry (a replay). */
  replay(from: Descriptor, to: Descriptor): Promise<void>;
}

const FORMATS: Format[] = [
  {
    name: 'bundle (cosign v3 default: OCI 1.1 referrer, tag-schema fallback)',
    flags: [],
    kind: /kind: +bundle/,
    async replay(from, to) {
      const { bytes } = await repo.fetchManifest(from.digest.replace(':', '-'), call());
      const index = JSON.parse(Buffer.from(bytes).toString()) as { manifests: Descriptor[] };
      const referrer = index.manifests.find((m) => m.artifactType === MEDIA_TYPES.sigstoreBundleV03);
      assert.ok(referrer, `no bundle referrer in ${JSON.stringify(index)}`);
      const manifest = JSON.parse(
        Buffer.from((await repo.fetchManifest(referrer.digest, call())).bytes).toString(),
      ) as {
        layers: Descriptor[];
      };
      const bundle = JSON.parse(await readBlob(manifest.layers[0]!)) as object;
      await attachBundle(repo, to, bundle);
    },
  },
  {
    name: 'legacy .sig tag (--new-bundle-format=false)',
    flags: ['--new-bundle-format=false'],
    kind: /kind: +legacy/,
    async replay(from, to) {
      const { bytes, descriptor } = await repo.fetchManifest(`${from.digest.replace(':', '-')}.sig`, call());
      await repo.pushManifest(bytes, descriptor.mediaType, `${to.digest.replace(':', '-')}.sig`, call());
    },
  },
];

async function readBlob(descriptor: Descriptor): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await repo.fetch(descriptor, call())) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

for (const format of FORMATS) {
  describe(`cosign sign --key, ${format.name}`, () => {
    let signed: string;
    let replayed: string;
    let intruded: string;
    const slug = format.flags.length === 0 ? 'bundle' : 'legacy';

    before(async () => {
      signed = await push(`${slug}-signed`, 'hello from v1');
      const run = await cosignSign(signed, 'cosign.key', ...format.flags);
      assert.equal(run.code, 0, `cosign sign: ${run.stderr}`);
      replayed = await push(`${slug}-replayed`, 'hello from an intruder');
      await format.replay(await descriptorOf(signed), await descriptorOf(replayed));
      intruded = await push(`${slug}-intruded`, 'hello from an intruder');
      const byIntruder = await cosignSign(intruded, 'intruder.key', ...format.flags);
      assert.equal(byIntruder.code, 0, `cosign sign: ${byIntruder.stderr}`);
    });

    test('cosign verify accepts it (the cross-check)', async () => {
      const run = await cosignVerify(signed, 'cosign.pub', ...format.flags);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`"docker-manifest-digest":"${digestOf(signed)}"`));
    });

    test('pinwarden verify --key cosign.pub accepts it', async () => {
      const run = await verifyKey(signed);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Verified OK: /);
      assert.match(run.stdout, format.kind);
    });

    test('pinwarden pull --key cosign.pub extracts it', async () => {
      const out = join(dir, `pulled-${slug}`);
      const run = await pinwarden(
        'pull',
        `oci://${signed}`,
        '-o',
        out,
        '--key',
        'cosign.pub',
        '--insecure',
        '--timeout',
        '20s',
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(readFileSync(join(out, 'web.yaml'), 'utf8'), /greeting: hello from v1/);
    });

    test('a different key: both refuse', async () => {
      const theirs = await cosignVerify(signed, 'intruder.pub', ...format.flags);
      assert.notEqual(theirs.code, 0, theirs.stdout);
      const ours = await verifyKey(signed, 'intruder.pub');
      assert.equal(ours.code, 1, ours.stdout);
      assert.match(ours.stderr, /PW_SIGNATURE_INVALID/);
    });

    test('signed by the intruder, checked against cosign.pub: both refuse, and pull extracts nothing', async () => {
      const theirs = await cosignVerify(intruded, 'cosign.pub', ...format.flags);
      assert.notEqual(theirs.code, 0, theirs.stdout);
      const ours = await verifyKey(intruded);
      assert.equal(ours.code, 1, ours.stdout);
      assert.match(ours.stderr, /PW_SIGNATURE_INVALID/);
      const out = join(dir, `intruded-${slug}`);
      const pull = await pinwarden('pull', `oci://${intruded}`, '-o', out, '--key', 'cosign.pub', '--insecure');
      assert.equal(pull.code, 1, pull.stdout);
      assert.ok(!existsSync(out) || readdirSync(out).length === 0, 'pull left content behind');
    });

    test("the signature replayed onto another digest: both refuse (it names the signed artifact's digest)", async () => {
      const theirs = await cosignVerify(replayed, 'cosign.pub', ...format.flags);
      assert.notEqual(theirs.code, 0, theirs.stdout);
      const ours = await verifyKey(replayed);
      assert.equal(ours.code, 1, ours.stdout);
      assert.doesNotMatch(ours.stdout, /Verified OK/);
    });

    test("two signatures, the intruder's first: both accept with cosign.pub", async () => {
      const twice = await push(`${slug}-twice`, 'hello from v1, twice');
      for (const key of ['intruder.key', 'cosign.key']) {
        const run = await cosignSign(twice, key, ...format.flags);
        assert.equal(run.code, 0, `cosign sign --key ${key}: ${run.stderr}`);
      }
      const theirs = await cosignVerify(twice, 'cosign.pub', ...format.flags);
      assert.equal(theirs.code, 0, theirs.stderr);
      const ours = await verifyKey(twice);
      assert.equal(ours.code, 0, ours.stderr);
      assert.match(ours.stdout, format.kind);
    });

    test('--require-tlog refuses it: cosign uploaded nothing to a transparency log', async () => {
      const run = await verifyKey(signed, 'cosign.pub', '--require-tlog');
      assert.equal(run.code, 1, run.stdout);
    });
  });
}

test('a tampered legacy payload (claims another digest, original signature): both refuse', async () => {
  const signed = await push('tamper-signed', 'hello from v1');
  const sign = await cosignSign(signed, 'cosign.key', '--new-bundle-format=false');
  assert.equal(sign.code, 0, sign.stderr);
  const target = await descriptorOf(await push('tamper-target', 'hello from an intruder'));
  const source = await descriptorOf(signed);
  const { bytes } = await repo.fetchManifest(`${source.digest.replace(':', '-')}.sig`, call());
  const manifest = JSON.parse(Buffer.from(bytes).toString()) as { layers: Descriptor[] } & Record<string, unknown>;
  const layer = manifest.layers[0]!;
  const payload = (await readBlob(layer)).replace(source.digest, target.digest);
  assert.ok(payload.includes(target.digest), 'the payload names no digest to tamper with');
  const pushed = await repo.pushBlob(Buffer.from(payload), layer.mediaType, call());
  const tampered = { ...manifest, layers: [{ ...layer, digest: pushed.digest, size: pushed.size }] };
  const config = manifest.config as Descriptor;
  const targetRef = `${registry.host}/apps/shop@${target.digest}`;
  await repo.pushManifest(
    Buffer.from(JSON.stringify({ ...tampered, config })),
    MEDIA_TYPES.ociManifest,
    `${target.digest.replace(':', '-')}.sig`,
    call(),
  );
  const theirs = await cosignVerify(targetRef, 'cosign.pub', '--new-bundle-format=false');
  assert.notEqual(theirs.code, 0, theirs.stdout);
  const ours = await verifyKey(targetRef);
  assert.equal(ours.code, 1, ours.stdout);
  assert.match(ours.stderr, /PW_SIGNATURE_INVALID/);
});

// cosign attest pushes its DSSE bundle exactly like cosign sign (an OCI 1.1 referrer); only the in-toto predicate
// type differs. cosign v3.1.3's `verify --key` does not look at it and passes the artifact; pinwarden refuses an
// attestation as a signature on purpose (test/security/attestation-not-signature.test.ts): a key that also signs
// provenance or scan results must not make every attested artifact "signed".
test('cosign attest with the trusted key: cosign verify passes it, pinwarden refuses an attestation as a signature', async () => {
  const attested = await push('attested', 'hello from an attestation');
  writeFileSync(join(dir, 'provenance.json'), '{"buildType":"https://example.com/build/v1"}');
  const attest = await runCosign(
    'attest',
    '--key',
    'cosign.key',
    '--tlog-upload=false',
    '--use-signing-config=false',
    '--yes',
    '--type',
    'slsaprovenance1',
    '--predicate',
    'provenance.json',
    attested,
  );
  assert.equal(attest.code, 0, attest.stderr);
  const theirs = await cosignVerify(attested, 'cosign.pub');
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.match(theirs.stdout, /"type":"https:\/\/slsa\.dev\/provenance\/v1"/);
  const ours = await verifyKey(attested);
  assert.equal(ours.code, 1, ours.stdout);
  assert.match(
    ours.stderr,
    /is an attestation \(predicate type "https:\/\/slsa\.dev\/provenance\/v1"\), not a cosign signature/,
  );
});

/** A key made here and imported with `cosign import-key-pair` (cosign generate-key-pair makes only P-256). */
async function importKey(name: string, key: KeyObject): Promise<void> {
  const pem = join(dir, `${name}.pem`);
  writeFileSync(pem, key.export({ format: 'pem', type: 'pkcs8' }));
  const run = await runCosign('import-key-pair', '--key', pem, '--output-key-prefix', name);
  assert.equal(run.code, 0, run.stderr);
}

for (const format of FORMATS) {
  const slug = format.flags.length === 0 ? 'bundle' : 'legacy';

  test(`an imported RSA key, ${slug}: both accept (RSA PKCS#1 v1.5 with SHA-256)`, async () => {
    if (!existsSync(join(dir, 'rsa.pub')))
      await importKey('rsa', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    const signed = await push(`${slug}-rsa`, 'hello from rsa');
    const sign = await cosignSign(signed, 'rsa.key', ...format.flags);
    assert.equal(sign.code, 0, sign.stderr);
    const theirs = await cosignVerify(signed, 'rsa.pub', ...format.flags);
    assert.equal(theirs.code, 0, theirs.stderr);
    const ours = await verifyKey(signed, 'rsa.pub');
    assert.equal(ours.code, 0, ours.stderr);
    assert.match(ours.stdout, format.kind);
  });

  // cosign signs with a P-384 key over SHA-384 (sigstore's default for the curve) while `cosign verify --key`
  // checks SHA-256 unless given the deprecated --signature-digest-algorithm sha384; Flux's key-based check is
  // SHA-256 too. pinwarden agrees with both verifiers: the same signature is refused, never half-accepted.
  test(`an imported P-384 key, ${slug}: cosign verify's default and pinwarden both refuse (cosign signed SHA-384)`, async () => {
    if (!existsSync(join(dir, 'p384.pub')))
      await importKey('p384', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
    const signed = await push(`${slug}-p384`, 'hello from p384');
    const sign = await cosignSign(signed, 'p384.key', ...format.flags);
    assert.equal(sign.code, 0, sign.stderr);
    const theirs = await cosignVerify(signed, 'p384.pub', ...format.flags);
    assert.notEqual(theirs.code, 0, theirs.stdout);
    const withSha384 = await cosignVerify(
      signed,
      'p384.pub',
      ...format.flags,
      '--signature-digest-algorithm',
      'sha384',
    );
    assert.equal(withSha384.code, 0, withSha384.stderr);
    const ours = await verifyKey(signed, 'p384.pub');
    assert.equal(ours.code, 1, ours.stdout);
    assert.match(ours.stderr, /PW_SIGNATURE_INVALID/);
  });

  // cosign signs with an Ed25519 key as Ed25519ph (cosign's GetDefaultLoadOptions), which `cosign verify --key`
  // (pure Ed25519) refuses; pinwarden checks pure Ed25519 as Flux does, and refuses it too.
  test(`an imported Ed25519 key, ${slug}: cosign verify and pinwarden both refuse (cosign signed Ed25519ph)`, async () => {
    if (!existsSync(join(dir, 'ed25519.pub'))) await importKey('ed25519', generateKeyPairSync('ed25519').privateKey);
    const signed = await push(`${slug}-ed25519`, 'hello from ed25519');
    const sign = await cosignSign(signed, 'ed25519.key', ...format.flags);
    assert.equal(sign.code, 0, sign.stderr);
    const theirs = await cosignVerify(signed, 'ed25519.pub', ...format.flags);
    assert.notEqual(theirs.code, 0, theirs.stdout);
    const ours = await verifyKey(signed, 'ed25519.pub');
    assert.equal(ours.code, 1, ours.stdout);
    assert.match(ours.stderr, /PW_SIGNATURE_INVALID/);
  });
}
