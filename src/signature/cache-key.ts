/**
 * A stable cache key for a verification result (the cache itself belongs to the webhook): same artifact
 * digest, same effective `spec.verify` block, same trust material and options → same key. Identity pairs are
 * OR-ed, so their order does not matter and they are sorted; the key is a hash, so no secret name or
 * identity leaks into cache listings.
 */
import { createHash } from 'node:crypto';
import { CLAIM_CONSTRAINTS } from '../core/binding/index.ts';
import type { Digest } from '../oci/index.ts';
import type { SignerPolicy } from './bundle-verify.ts';
import { keySetId } from './keys.ts';
import type { OciVerifyBlock } from './types.ts';

export interface CacheKeyOptions {
  requireTlog?: boolean;
  allowAnyIdentity?: boolean;
}

/**
 * `trustIdentity` names what the result was checked against: `TrustRoot.id` (keyless), `keySetId(keys)`
 * (key-based), or both joined — `trustIdentityOf(signerPolicy)` computes it.
 */
export function signatureCacheKey(
  digest: Digest,
  verify: OciVerifyBlock,
  trustIdentity: string,
  options: CacheKeyOptions = {},
): string {
  const identities = (verify.matchOIDCIdentity ?? [])
    .map((identity) =>
      JSON.stringify([identity.issuer, identity.subject, ...CLAIM_CONSTRAINTS.map((name) => identity[name] ?? '')]),
    )
    .sort()
    .filter((item, index, all) => all.indexOf(item) === index);
  const canonical = JSON.stringify([
    'pinwarden-signature-v1',
    digest,
    verify.provider,
    verify.secretRef?.name ?? null,
    verify.trustedRootSecretRef?.name ?? null,
    identities,
    trustIdentity,
    options.requireTlog === true,
    options.allowAnyIdentity === true,
  ]);
  return `sig1:${createHash('sha256').update(canonical).digest('hex')}`;
}

export function trustIdentityOf(signer: SignerPolicy): string {
  if (signer.mode === 'keyless') return signer.trustRoot.id;
  return [keySetId(signer.keys), signer.trustRoot?.id].filter((part) => part !== undefined).join('+');
}
