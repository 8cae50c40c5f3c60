/**
 * The set-up the signing CLI tests share (`pinwarden verify`, `pinwarden pull`, the cosign interop): Debian's
 * docker-registry on loopback (plain HTTP), one repository in it, and a work directory, the CLI's cwd, holding
 * the files its flags name (`--key cosign.pub`, `--trusted-root trusted_root.json`).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpRepository } from '../../src/oci/index.ts';
import type { Descriptor } from '../../src/oci/index.ts';
import { startRegistry } from './registry.ts';
import type { TestRegistry } from './registry.ts';
import { createSigstoreFixture, pemOfPublicKey } from './sigstore-fixtures.ts';
import type { SigstoreFixture } from './sigstore-fixtures.ts';
import type { KeySigner } from './sigstore-fixtures-sign.ts';

export interface SigningWorkspace {
  registry: TestRegistry;
  /** `path` in the registry. */
  repo: HttpRepository;
  /** The work directory: the CLI runs here. */
  dir: string;
  /** `oci://host/path@digest` of something pushed to `repo`. */
  refOf: (descriptor: Descriptor) => string;
  /** Closes the repository, stops the registry, removes the directory. */
  stop(): Promise<void>;
}

/** Starts the registry and makes the work directory (`prefix` names it in the temporary directory). */
export async function startSigningWorkspace(prefix: string, path = 'acme/app'): Promise<SigningWorkspace> {
  const registry = await startRegistry({ mode: 'plain' });
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const repo = new HttpRepository({ registry: registry.host, host: registry.host, path }, { insecure: true });
  return {
    registry,
    repo,
    dir,
    refOf: (descriptor) => `oci://${registry.host}/${path}@${descriptor.digest}`,
    async stop() {
      repo.close();
      await registry.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The test's own Sigstore (Fulcio- and Rekor-like), its trust root written as `trusted_root.json` in `dir`. */
export async function sigstoreIn(dir: string): Promise<SigstoreFixture> {
  const fixture = await createSigstoreFixture();
  writeFileSync(join(dir, 'trusted_root.json'), fixture.trustedRootBytes);
  return fixture;
}

/** A fresh P-256 key pair (cosign's kind), its public key written as `file` in `dir`. */
export function keyPairIn(dir: string, file: string): KeySigner {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, file), pemOfPublicKey(keys.publicKey));
  return keys;
}
