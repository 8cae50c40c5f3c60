/**
 * Flux objects as the rest of pinwarden sees them: typed read-only views of OCIRepository and Bucket
 * (`objects.ts`), OCI URL normalisation and prefix matching (`oci-url.ts`), the Flux CRD schemas
 * (`crd-schema.ts`, `flux-schemas.ts`) and which objects pinwarden does not govern (`not-governed.ts`).
 * Pure: no I/O. Other rooms import only from here.
 */
export { CrdSchemas } from './crd-schema.ts';
export type { SchemaCheck } from './crd-schema.ts';
export { SCHEMA_RULE, schemaFindings, schemaKeys } from './flux-schemas.ts';
export { OPERATOR_GROUP, notGovernedReason } from './not-governed.ts';
export type { NotGoverned } from './not-governed.ts';
export {
  GOVERNED_KINDS,
  GOVERNED_VERSIONS,
  SOURCE_GROUP,
  asBoolean,
  asRecord,
  asString,
  governedKindOf,
  objectRefOf,
  readBucket,
  readOciRepository,
} from './objects.ts';
export type {
  BucketView,
  GovernedKind,
  Json,
  OciRefView,
  OciRepositoryView,
  OidcIdentity,
  VerifyView,
} from './objects.ts';
export { isValidDigest, isValidTag, normalizeOciUrl, urlHasAnyPrefix, urlHasPrefix } from './oci-url.ts';
