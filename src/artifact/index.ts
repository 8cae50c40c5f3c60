/**
 * The artifact room's public surface: Flux-compatible artifacts (`flux push artifact` format) — packing a
 * directory into a reproducible tar.gz layer plus config and manifest, and pushing them to a Repository.
 */
export { ANNOTATIONS, FLUX_DEFAULT_IGNORE, REPRODUCIBLE_CREATED, packArtifact, pushArtifact, tarGzip } from './pack.ts';
export type { Blob, PackOptions, PackedArtifact } from './pack.ts';
