/**
 * Sigstore trust roots, loaded offline only: the public-good `trusted_root.json` embedded in `@sigstore/tuf`'s
 * `seeds.json` (never a TUF network refresh), or a custom `trusted_root.json` (Flux `trustedRootSecretRef`,
 * CLI `--trusted-root`). A root is validated before use: every authority needs a validity start, because
 * sigstore-js silently reads a missing start as "beginning of time" (conformance
 * `trust-root-tlog-missing-validity-start_fail`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import type { KeyFinderFunc, TrustMaterial } from '@sigstore/verify';
import { PinwardenError } from '../core/errors.ts';
import type { Call } from '../oci/index.ts';
import { createBoundedCache } from '../runtime/index.ts';
import { describeSigstoreError } from './failure.ts';
import type { OciVerifyBlock, SecretDataReader } from './types.ts';
import { protobufSpecs, sigstoreVerify } from './sigstore.ts';

const PUBLIC_GOOD_TUF = 'https://tuf-repo-cdn.sigstore.dev';
export const TRUSTED_ROOT_SECRET_KEY = 'trusted_root.json';

export interface TrustRoot {
  /** `sha256:<hex>` of the trusted_root.json bytes: names the root in cache keys and messages. */
  readonly id: string;
  /** Human description: `public-good (@sigstore/tuf seeds.json)`, `secret flux-system/x`, `file ./root.json`. */
  readonly source: string;
  readonly ctlogCount: number;
  /** sigstore-js trust material; key-based verification passes its own key finder. */
  material(keys?: KeyFinderFunc): TrustMaterial;
}

/** Seam: which root verifies a given `spec.verify` block (the webhook plugs its Secret reader in here). */
export interface TrustRootSource {
  trustRoot(verify: OciVerifyBlock, call: Call): Promise<TrustRoot>;
}

export function parseTrustedRoot(bytes: Uint8Array, source: string): TrustRoot {
  const root = decodeTrustedRoot(bytes, source);
  assertValidityStarts(root, source);
  const base = buildMaterial(root, source);
  return {
    id: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    source,
    ctlogCount: root.ctlogs.length,
    material: (keys) => ({ ...base, publicKey: keys ?? refuseKeys }),
  };
}

let publicGood: TrustRoot | undefined;

/** The public-good Sigstore root shipped in @sigstore/tuf; parsed once per process. */
export function publicGoodTrustRoot(): TrustRoot {
  publicGood ??= parseTrustedRoot(readSeedTrustedRoot(), 'public-good (@sigstore/tuf seeds.json)');
  return publicGood;
}

function readSeedTrustedRoot(): Uint8Array {
  const seedsPath = createRequire(import.meta.url).resolve('@sigstore/tuf/seeds.json');
  const seeds = JSON.parse(readFileSync(seedsPath, 'utf8')) as Record<string, { targets?: Record<string, string> }>;
  const encoded = seeds[PUBLIC_GOOD_TUF]?.targets?.[TRUSTED_ROOT_SECRET_KEY];
  if (encoded === undefined) {
    throw new PinwardenError('PW_INTERNAL', `@sigstore/tuf seeds.json has no ${TRUSTED_ROOT_SECRET_KEY} target`);
  }
  return Buffer.from(encoded, 'base64');
}

export function fixedTrustRootSource(root: TrustRoot): TrustRootSource {
  return { trustRoot: async () => root };
}

/** Flux semantics: `trustedRootSecretRef` → that Secret's `trusted_root.json`, else the public-good root. */
export function secretTrustRootSource(
  secrets?: SecretDataReader,
  fallback: () => TrustRoot = publicGoodTrustRoot,
): TrustRootSource {
  const parsed = createParsedTrustRoots();
  return {
    async trustRoot(verify, call) {
      const name = verify.trustedRootSecretRef?.name;
      if (name === undefined) return fallback();
      if (!secrets)
        throw new PinwardenError(
          'PW_INPUT_INVALID',
          `cannot read trusted root secret '${name}': no secret reader configured`,
        );
      const text = (await secrets(name, call))[TRUSTED_ROOT_SECRET_KEY];
      if (text === undefined) {
        throw new PinwardenError('PW_INPUT_INVALID', `'${TRUSTED_ROOT_SECRET_KEY}' not found in secret '${name}'`);
      }
      return parsed(`secret ${name}\n${text}`, Buffer.from(text, 'utf8'), `secret ${name}`);
    },
  };
}

/** Parsed trusted roots by a caller's key (content or digest), so each verification does not re-parse. */
export type ParsedTrustRoots = (key: string, bytes: Uint8Array, source: string) => TrustRoot;

/** Few roots (a policy lists them by digest, Secrets rarely change); each parsed one holds keys and certificates. */
export function createParsedTrustRoots(): ParsedTrustRoots {
  const parsed = createBoundedCache<TrustRoot>({
    maxEntries: 8,
    maxBytes: 8 * 256 * 1024,
    ttlMs: 3_600_000,
    sizeOf: () => 256 * 1024,
  });
  return (key, bytes, source) => {
    const known = parsed.get(key);
    if (known) return known;
    const root = parseTrustedRoot(bytes, source);
    parsed.set(key, root);
    return root;
  };
}

function decodeTrustedRoot(bytes: Uint8Array, source: string): TrustedRoot {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new PinwardenError('PW_INPUT_INVALID', `trusted root from ${source} is not JSON`, { cause: error });
  }
  const mediaType = (json as { mediaType?: unknown } | null)?.mediaType;
  if (typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')) {
    throw new PinwardenError('PW_INPUT_INVALID', `trusted root from ${source} has no sigstore trustedroot mediaType`);
  }
  try {
    return protobufSpecs().TrustedRoot.fromJSON(json);
  } catch (error) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `trusted root from ${source} is malformed (not a sigstore TrustedRoot)`,
      { cause: error },
    );
  }
}

function assertValidityStarts(root: TrustedRoot, source: string): void {
  const missing: string[] = [];
  root.tlogs.forEach(
    (log, i) => log.publicKey?.validFor?.start || missing.push(`tlogs[${i}].publicKey.validFor.start`),
  );
  root.ctlogs.forEach(
    (log, i) => log.publicKey?.validFor?.start || missing.push(`ctlogs[${i}].publicKey.validFor.start`),
  );
  root.certificateAuthorities.forEach(
    (ca, i) => ca.validFor?.start || missing.push(`certificateAuthorities[${i}].validFor.start`),
  );
  root.timestampAuthorities.forEach(
    (ca, i) => ca.validFor?.start || missing.push(`timestampAuthorities[${i}].validFor.start`),
  );
  root.tlogs.forEach((log, i) => log.logId?.keyId?.length || missing.push(`tlogs[${i}].logId.keyId`));
  if (missing.length > 0) {
    throw new PinwardenError('PW_INPUT_INVALID', `trusted root from ${source} is missing ${missing.join(', ')}`);
  }
}

function buildMaterial(root: TrustedRoot, source: string): TrustMaterial {
  try {
    return sigstoreVerify().toTrustMaterial(root);
  } catch (error) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `trusted root from ${source} is unusable: ${describeSigstoreError(error)}`,
    );
  }
}

const refuseKeys: KeyFinderFunc = (hint) => {
  throw new (sigstoreVerify().VerificationError)({
    code: 'PUBLIC_KEY_ERROR',
    message: `no public key configured (bundle key hint ${hint})`,
  });
};
