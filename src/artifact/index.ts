/**
 * The artifact room's public surface: Flux-compatible artifacts (`flux push artifact` format) — packing a
 * directory into a reproducible tar.gz layer plus config and manifest, pushing them to a Repository, and
 * extracting a layer safely (streaming, capped, into a temporary directory renamed into place at the end).
 */
export { ANNOTATIONS, FLUX_DEFAULT_IGNORE, REPRODUCIBLE_CREATED, packArtifact, pushArtifact, tarGzip } from './pack.ts';
export type { Blob, PackOptions, PackedArtifact } from './pack.ts';
export { DEFAULT_EXTRACT_LIMITS, RATIO_GRACE_BYTES, copyStream, extractTarGzip, safeRelativePath } from './extract.ts';
export type { ExtractLimits, ExtractOptions, ExtractResult } from './extract.ts';
