/**
 * What an adapter saw in the Secrets a `spec.verify` block names, reduced to what the trust rules need:
 * fingerprints and digests, never key or root bytes. The webhook gathers them at /validate; offline `check`
 * has none, and the rules then warn that they could not look.
 */

/** `verify.secretRef`: one item per `*.pub` entry (cosign reads every one). */
export type KeySecretFacts =
  | { readonly ok: true; readonly keys: ReadonlyArray<{ readonly fingerprint: string | undefined }> }
  | { readonly ok: false; readonly problem: string };

/** `verify.trustedRootSecretRef`: the digest of its `trusted_root.json` value. */
export type RootSecretFacts =
  { readonly ok: true; readonly digest: string } | { readonly ok: false; readonly problem: string };

export interface VerifySecretFacts {
  keys?: KeySecretFacts;
  trustedRoot?: RootSecretFacts;
}
