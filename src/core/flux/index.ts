/**
 * Flux objects as the rest of pinwarden sees them: typed read-only views of OCIRepository and Bucket
 * (`objects.ts`), OCI URL normalisation and prefix matching (`oci-url.ts`), the Flux CRD schemas
 * (`crd-schema.ts`, `flux-schemas.ts`) and which objects pinwarden does not govern (`not-governed.ts`).
 * Pure: no I/O. Other rooms import only from here.
 */
export * from './crd-schema.ts';
export * from './flux-schemas.ts';
export * from './not-governed.ts';
export * from './objects.ts';
export * from './oci-url.ts';
