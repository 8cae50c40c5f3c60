/**
 * Tolerant views of Flux source objects. Admission bodies and CI files can hold anything, so every reader
 * accepts `unknown`, never throws, and reports a field of the wrong type as absent. Rules then treat an
 * absent security field as missing, which is the safe reading.
 */
import type { ObjectRef } from '../findings.ts';

export const SOURCE_GROUP = 'source.toolkit.fluxcd.io';
/** v1 is served today; v1beta2 is still served by Flux <= 2.7 with the same spec shape. */
export const GOVERNED_VERSIONS = ['v1', 'v1beta2'] as const;
export const GOVERNED_KINDS = ['OCIRepository', 'Bucket'] as const;
export type GovernedKind = (typeof GOVERNED_KINDS)[number];

export type Json = Record<string, unknown>;

export function asRecord(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function asBoolean(value: unknown): boolean {
  return value === true;
}

export function objectRefOf(object: unknown): ObjectRef {
  const record = asRecord(object) ?? {};
  const metadata = asRecord(record.metadata) ?? {};
  const namespace = asString(metadata.namespace);
  return {
    apiVersion: asString(record.apiVersion) ?? '',
    kind: asString(record.kind) ?? '',
    ...(namespace ? { namespace } : {}),
    name: asString(metadata.name) ?? asString(metadata.generateName) ?? '',
  };
}

/** `source.toolkit.fluxcd.io/v1`, `…/v1beta2`: the apiVersions pinwarden governs. */
const GOVERNED_API_VERSIONS: ReadonlySet<unknown> = new Set(
  GOVERNED_VERSIONS.map((version) => `${SOURCE_GROUP}/${version}`),
);
const GOVERNED_KIND_SET: ReadonlySet<unknown> = new Set(GOVERNED_KINDS);

/**
 * The governed kind of an object, or undefined for anything pinwarden does not govern. Two set lookups on the
 * raw fields: every admission asks this several times, so it builds nothing.
 */
export function governedKindOf(object: unknown): GovernedKind | undefined {
  const record = asRecord(object);
  if (!record || !GOVERNED_API_VERSIONS.has(record.apiVersion)) return undefined;
  return GOVERNED_KIND_SET.has(record.kind) ? (record.kind as GovernedKind) : undefined;
}

export interface OidcIdentity {
  issuer: unknown;
  subject: unknown;
}

export interface VerifyView {
  /** Flux defaults an absent provider to cosign. */
  provider: string;
  hasSecretRef: boolean;
  secretName?: string;
  identities: OidcIdentity[];
  trustedRootSecretName?: string;
}

export interface OciRefView {
  digest?: string;
  semver?: string;
  semverFilter?: string;
  tag?: string;
}

export interface OciRepositoryView {
  url: string | undefined;
  /** undefined when spec.ref is absent: Flux then means the tag `latest`. */
  ref: OciRefView | undefined;
  verify: VerifyView | undefined;
  insecure: boolean;
  secretName?: string;
  serviceAccountName?: string;
  certSecretName?: string;
  /** `metadata.annotations["pinwarden.dev/commit-binding"]`, as written (any type). */
  commitBindingAnnotation?: unknown;
  /** `metadata.annotations["pinwarden.dev/pinned-from"]` when it is a string: what the digest was pinned from. */
  pinnedFrom?: string;
}

export function readOciRepository(object: unknown): OciRepositoryView {
  const spec = specOf(object);
  const annotations = asRecord(asRecord(asRecord(object)?.metadata)?.annotations);
  const commitBinding = annotations?.['pinwarden.dev/commit-binding'];
  const pinnedFrom = asString(annotations?.['pinwarden.dev/pinned-from']);
  const secretName = refName(spec.secretRef);
  const serviceAccountName = asString(spec.serviceAccountName);
  const certSecretName = refName(spec.certSecretRef);
  return {
    url: asString(spec.url),
    ref: readRef(spec.ref),
    verify: readVerify(spec.verify),
    insecure: asBoolean(spec.insecure),
    ...(secretName ? { secretName } : {}),
    ...(serviceAccountName ? { serviceAccountName } : {}),
    ...(certSecretName ? { certSecretName } : {}),
    ...(commitBinding !== undefined ? { commitBindingAnnotation: commitBinding } : {}),
    ...(pinnedFrom !== undefined ? { pinnedFrom } : {}),
  };
}

export interface BucketView {
  /** The raw spec.ignore value: undefined when absent, any type when present. */
  ignore: unknown;
  insecure: boolean;
  endpoint: string | undefined;
}

export function readBucket(object: unknown): BucketView {
  const spec = specOf(object);
  return { ignore: spec.ignore, insecure: asBoolean(spec.insecure), endpoint: asString(spec.endpoint) };
}

function specOf(object: unknown): Json {
  return asRecord(asRecord(object)?.spec) ?? {};
}

function refName(value: unknown): string | undefined {
  const name = asString(asRecord(value)?.name);
  return name === undefined || name === '' ? undefined : name;
}

function readRef(value: unknown): OciRefView | undefined {
  const ref = asRecord(value);
  if (!ref) return undefined;
  const view: OciRefView = {};
  for (const key of ['digest', 'semver', 'semverFilter', 'tag'] as const) {
    const field = asString(ref[key]);
    if (field !== undefined && field !== '') view[key] = field;
  }
  return view;
}

function readVerify(value: unknown): VerifyView | undefined {
  const verify = asRecord(value);
  if (!verify) return undefined;
  const secretName = refName(verify.secretRef);
  const trustedRootSecretName = refName(verify.trustedRootSecretRef);
  const identities = Array.isArray(verify.matchOIDCIdentity)
    ? verify.matchOIDCIdentity.map((entry) => {
        const record = asRecord(entry) ?? {};
        return { issuer: record.issuer, subject: record.subject };
      })
    : [];
  return {
    provider: asString(verify.provider) ?? 'cosign',
    hasSecretRef: secretName !== undefined,
    ...(secretName ? { secretName } : {}),
    identities,
    ...(trustedRootSecretName ? { trustedRootSecretName } : {}),
  };
}
