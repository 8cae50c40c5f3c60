// `node scripts/sign-dev.ts --key cosign.key oci://HOST/REPO@sha256:<hex> [--insecure]`: DEVELOPMENT ONLY.
// Signs an artifact digest with an ECDSA P-256 key the way `cosign sign --key` (cosign v2, key-based, no
// Rekor upload) does: a simple-signing payload in a `sha256-<hex>.sig` image beside the artifact. It exists
// because cosign cannot be installed on this project's build machine; everywhere else use cosign itself.
// The key is an unencrypted PEM (`openssl ecparam -name prime256v1 -genkey -noout`), not cosign's
// encrypted `cosign.key`. Exit 0 signed, 1 registry failure, 2 bad input.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publicKeyFingerprint } from '../src/core/trust/index.ts';
import { HttpRepository, parseReference } from '../src/oci/index.ts';
import { attachLegacy, legacySignature } from '../test/helpers/sigstore-fixtures-sign.ts';
import { pemOfPublicKey } from '../test/helpers/sigstore-fixtures.ts';

export const USAGE = 'usage: node scripts/sign-dev.ts --key KEY.pem oci://HOST/REPO@sha256:<hex> [--insecure]';

class InputError extends Error {}

interface SignArgs {
  keyFile: string;
  ref: string;
  insecure: boolean;
}

function parseArgs(argv: string[]): SignArgs {
  let keyFile: string | undefined;
  let ref: string | undefined;
  let insecure = false;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--key' && argv[index + 1] !== undefined) keyFile = argv[++index];
    else if (arg === '--insecure') insecure = true;
    else if (!arg.startsWith('-') && ref === undefined) ref = arg;
    else throw new InputError(`unexpected argument '${arg}'`);
  }
  if (keyFile === undefined || ref === undefined) throw new InputError('--key and a reference are required');
  return { keyFile, ref, insecure };
}

function readP256Key(file: string): { privateKey: KeyObject; publicKey: KeyObject } {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(file));
  } catch (error) {
    throw new InputError(`--key ${file}: not a readable unencrypted PEM private key (${(error as Error).message})`);
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new InputError(`--key ${file}: an ECDSA P-256 key is required`);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

async function main(argv: string[]): Promise<number> {
  let args: SignArgs;
  let key: { privateKey: KeyObject; publicKey: KeyObject };
  let parsed: ReturnType<typeof parseReference>;
  try {
    args = parseArgs(argv);
    key = readP256Key(args.keyFile);
    parsed = parseReference(args.ref);
    if (parsed.digest === undefined) throw new InputError(`${args.ref}: sign a digest (…@sha256:<hex>), not a tag`);
  } catch (error) {
    console.error(`sign-dev: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  try {
    const repository = HttpRepository.fromUrl(`oci://${parsed.host}/${parsed.path}`, { insecure: args.insecure });
    const subject = await repository.resolve(parsed.digest, { signal: AbortSignal.timeout(30_000) });
    const signature = legacySignature(key, `${parsed.host}/${parsed.path}`, parsed.digest);
    await attachLegacy(repository, subject, [signature]);
    const fingerprint = publicKeyFingerprint(pemOfPublicKey(key.publicKey));
    console.log(
      `signed ${parsed.host}/${parsed.path}@${parsed.digest} as ${parsed.digest.replace(':', '-')}.sig (key ${fingerprint})`,
    );
    return 0;
  } catch (error) {
    console.error(`sign-dev: ${args.ref}: ${(error as Error).message}`);
    return 1;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`sign-dev: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
