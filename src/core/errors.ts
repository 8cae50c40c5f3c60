/**
 * The one catalogue of error codes. A `PinwardenError` means "could not decide"; a policy violation is
 * a `Finding`, never an exception. Every surface (admission answer, CLI exit code, controller condition)
 * is derived from the code's `kind`, so no call site picks an exit code or a Flux reason by hand.
 * Codes are contracts: add new ones, never rename. docs/errors.md has one row per code (a test checks it).
 */

export const ERROR_KINDS = ['verification', 'input', 'framing', 'unavailable', 'internal'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

interface CatalogueEntry {
  readonly kind: ErrorKind;
  /** Flux condition reason used by the controller when this error ends a reconcile. */
  readonly reason: string;
  readonly summary: string;
}

export const ERRORS = {
  PW_INPUT_INVALID: { kind: 'input', reason: 'InvalidInput', summary: 'a file, flag or object could not be read' },
  PW_POLICY_INVALID: { kind: 'input', reason: 'InvalidPolicy', summary: 'the SourcePolicy document is not valid' },
  PW_REF_INVALID: { kind: 'input', reason: 'URLInvalid', summary: 'an OCI reference or URL is malformed' },
  PW_ARTIFACT_UNSAFE: {
    kind: 'input',
    reason: 'OCIArtifactLayerOperationFailed',
    summary: 'an artifact breaks an extraction limit or escapes its root',
  },
  PW_REVIEW_MALFORMED: { kind: 'framing', reason: 'InvalidInput', summary: 'the AdmissionReview is malformed' },
  PW_REVIEW_TOO_LARGE: { kind: 'framing', reason: 'InvalidInput', summary: 'the AdmissionReview body is too large' },
  PW_REVIEW_MEDIA_TYPE: {
    kind: 'framing',
    reason: 'InvalidInput',
    summary: 'the AdmissionReview has the wrong content type',
  },
  PW_REGISTRY_UNREACHABLE: {
    kind: 'unavailable',
    reason: 'OCIArtifactPullFailed',
    summary: 'the registry could not be reached or answered with a server error',
  },
  PW_REGISTRY_AUTH: { kind: 'unavailable', reason: 'AuthenticationFailed', summary: 'the registry refused the credentials' },
  PW_REGISTRY_PROTOCOL: {
    kind: 'unavailable',
    reason: 'OCIArtifactPullFailed',
    summary: 'the registry answered outside the distribution spec',
  },
  PW_REGISTRY_ADDRESS_DENIED: {
    kind: 'input',
    reason: 'InvalidInput',
    summary: 'the registry, redirect or token realm address is one the policy does not let the webhook contact',
  },
  PW_MANIFEST_UNKNOWN: { kind: 'unavailable', reason: 'OCIArtifactPullFailed', summary: 'the tag or manifest does not exist' },
  PW_NO_MATCHING_TAG: { kind: 'unavailable', reason: 'ReadOperationFailed', summary: 'no tag satisfies the semver range' },
  PW_RATE_LIMITED: { kind: 'unavailable', reason: 'OCIArtifactPullFailed', summary: 'the registry rate-limited the request' },
  PW_DEADLINE: { kind: 'unavailable', reason: 'OCIArtifactPullFailed', summary: 'the call ran out of time' },
  PW_TOO_LARGE: { kind: 'verification', reason: 'OCIArtifactPullFailed', summary: 'a manifest or blob exceeds its size cap' },
  PW_DIGEST_MISMATCH: {
    kind: 'verification',
    reason: 'OCIArtifactPullFailed',
    summary: 'content does not match its digest or size',
  },
  PW_SIGNATURE_NOT_FOUND: { kind: 'verification', reason: 'VerificationError', summary: 'no signature was found' },
  PW_SIGNATURE_INVALID: { kind: 'verification', reason: 'VerificationError', summary: 'no signature verified' },
  PW_IDENTITY_MISMATCH: {
    kind: 'verification',
    reason: 'VerificationError',
    summary: 'the signer identity is not one the policy allows',
  },
  PW_VERIFY_UNSUPPORTED: {
    kind: 'verification',
    reason: 'VerificationError',
    summary: 'the verification provider is not supported',
  },
  PW_KEY_NOT_TRUSTED: {
    kind: 'verification',
    reason: 'VerificationError',
    summary: 'a public key in verify.secretRef is not one the policy trusts',
  },
  PW_TRUST_ROOT_NOT_TRUSTED: {
    kind: 'verification',
    reason: 'VerificationError',
    summary: 'the trusted root in verify.trustedRootSecretRef is not one the policy trusts',
  },
  PW_KUBE_API: {
    kind: 'unavailable',
    reason: 'ReconciliationFailed',
    summary: 'the Kubernetes API could not be reached or refused a read',
  },
  PW_INTERNAL: { kind: 'internal', reason: 'ReconciliationFailed', summary: 'an unexpected internal error' },
  PW_INPUT_TOO_LARGE: {
    kind: 'input',
    reason: 'InvalidInput',
    summary: 'a field of the object is over its size cap, or deciding it would cost more than its budget',
  },
  PW_REVIEW_BUSY: {
    kind: 'framing',
    reason: 'InvalidInput',
    summary: 'the webhook holds its maximum of request bodies in flight and refuses more for now',
  },
  PW_USAGE: { kind: 'input', reason: 'InvalidInput', summary: 'the command line is not valid (unknown option, missing argument)' },
  PW_INPUT_EMPTY: { kind: 'input', reason: 'InvalidInput', summary: 'check read no documents at all' },
  PW_NODE_UNSUPPORTED: { kind: 'input', reason: 'InvalidInput', summary: 'the Node.js running pinwarden is older than it supports' },
  PW_COMMIT_BINDING: {
    kind: 'verification',
    reason: 'VerificationError',
    summary: "the artifact's source/revision annotations are not the repository and commit its signing workflow ran on",
  },
  PW_EXCEPTION_INVALID: { kind: 'input', reason: 'InvalidInput', summary: 'a SourcePolicyException document is not valid' },
  PW_PIN_STALE: {
    kind: 'input',
    reason: 'InvalidInput',
    summary: 'spec.ref.digest was pinned from another tag or semver range than spec.ref names now',
  },
  PW_POLICY_DENIED: {
    kind: 'input',
    reason: 'PolicyDenied',
    summary: 'the controller refused an object the SourcePolicy denies (the same rules as the webhook)',
  },
  PW_ARTIFACT_INVALID: {
    kind: 'input',
    reason: 'OCIArtifactLayerOperationFailed',
    summary: 'an artifact is not what it must be: not an image manifest, no such layer, or not a readable gzip tar',
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERRORS;

export interface PinwardenErrorOptions {
  cause?: unknown;
  /** Structured, already-redacted facts (field path, file, line, HTTP status, retryAfterMs…). */
  details?: Readonly<Record<string, unknown>>;
}

export class PinwardenError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  /** `message` must already be safe to show: no tokens, no Authorization headers, no URL query strings. */
  constructor(code: ErrorCode, message: string, options: PinwardenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PinwardenError';
    this.code = code;
    this.details = options.details ?? {};
  }

  get kind(): ErrorKind {
    return ERRORS[this.code].kind;
  }
}

export function isPinwardenError(value: unknown): value is PinwardenError {
  return value instanceof PinwardenError;
}

/** Wraps anything thrown into a PinwardenError without leaking the original message when it is not ours. */
export function toPinwardenError(value: unknown, fallback: ErrorCode = 'PW_INTERNAL'): PinwardenError {
  if (value instanceof PinwardenError) return value;
  const text = value instanceof Error ? value.message : String(value);
  return new PinwardenError(fallback, text, { cause: value });
}

/** CLI contract: 0 ok, 1 policy violation / verification failure / unavailable, 2 usage or input error. */
export function exitCodeFor(error: PinwardenError): 1 | 2 {
  switch (error.kind) {
    case 'input':
      return error.code === 'PW_ARTIFACT_UNSAFE' || error.code === 'PW_ARTIFACT_INVALID' ? 1 : 2;
    case 'framing':
    case 'internal':
      return 2;
    case 'verification':
    case 'unavailable':
      return 1;
  }
}

/** Transient errors may succeed on retry; they are never negatively cached. */
export function isTransient(error: PinwardenError): boolean {
  return error.kind === 'unavailable' || error.kind === 'internal';
}
