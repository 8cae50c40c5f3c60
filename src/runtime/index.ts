/** The runtime room's public surface: process-level helpers other rooms may import. */
export { VERSION } from './version.ts';
export { cacheKeyOf, createBoundedCache, defaultSizeOf } from './bounded-cache.ts';
export type { BoundedCache, BoundedCacheOptions } from './bounded-cache.ts';
