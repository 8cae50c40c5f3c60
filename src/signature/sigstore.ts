/**
 * sigstore-js, required (CommonJS) on first use instead of imported. Importing a CommonJS package from ESM
 * makes Node read it twice more before running it (a module-format check, and a scan of its named exports
 * through every re-export of its index): about 15 ms of CPU for the four packages on each cold `pinwarden
 * pull` or `verify`. And a run that verifies nothing (`--help`, `--skip-verify`, a usage error) loads none of
 * it (BENCHMARKS.md, `pinwarden pull`). Types come from the packages as usual (`import type`).
 */
import { createRequire } from 'node:module';
import type * as SigstoreBundle from '@sigstore/bundle';
import type * as SigstoreCore from '@sigstore/core';
import type * as ProtobufSpecs from '@sigstore/protobuf-specs';
import type * as SigstoreVerify from '@sigstore/verify';

const require = createRequire(import.meta.url);
let bundle: typeof SigstoreBundle | undefined;
let core: typeof SigstoreCore | undefined;
let specs: typeof ProtobufSpecs | undefined;
let verify: typeof SigstoreVerify | undefined;

/** `@sigstore/bundle`: bundle parsing and its media types. */
export const sigstoreBundle = (): typeof SigstoreBundle =>
  (bundle ??= require('@sigstore/bundle') as typeof SigstoreBundle);
/** `@sigstore/core`: X.509 parsing. */
export const sigstoreCore = (): typeof SigstoreCore => (core ??= require('@sigstore/core') as typeof SigstoreCore);
/** `@sigstore/protobuf-specs`: the protobuf-JSON messages (TrustedRoot, HashAlgorithm). */
export const protobufSpecs = (): typeof ProtobufSpecs =>
  (specs ??= require('@sigstore/protobuf-specs') as typeof ProtobufSpecs);
/** `@sigstore/verify`: the verifier and trust material. */
export const sigstoreVerify = (): typeof SigstoreVerify =>
  (verify ??= require('@sigstore/verify') as typeof SigstoreVerify);
