/**
 * The one catalogue of error codes. A `PinwardenError` means "could not decide"; a policy violation is
 * a `Finding`, never an exception. Every surface reads its answer from the code's entry here: the HTTP status
 * of an admission answer (`status`), the CLI exit code (`exit`) and the Flux condition reason (`reason`), so
 * no call site picks one by hand. Codes are contracts: add new ones at the END of `ERRORS`, never rename.
 * docs/errors.md has one row per code (a test checks it).
 */

export const ERROR_KINDS = ['verification', 'input', 'framing', 'unavailable', 'internal'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export type ExitCode = 0 | 1 | 2;

interface CatalogueEntry {
  readonly kind: ErrorKind;
  /** Flux condition reason used by the controller when this error ends a reconcile. */
  readonly reason: string;
  readonly summary: string;
  /**
   * HTTP status when this error decides a webhook answer: the response status of a refused envelope
   * (framing), else the `status.code` of an errored review (fail-closed /validate). Default: by kind.
   */
  readonly status?: number;
  /** CLI exit code when this error ends a command. Default: by kind. */
  readonly exit?: 1 | 2;
}

/** The surface of a kind, for a code that does not say otherwise. */
const KIND_DEFAULTS: Readonly<Record<ErrorKind, { status: number; exit: 1 | 2 }>> = {
  input: { status: 500, exit: 2 },
  framing: { status: 400, exit: 2 },
  verification: { status: 500, exit: 1 },
  unavailable: { status: 500, exit: 1 },
  internal: { status: 500, exit: 2 },
};

export const ERRORS = {
  PW_INPUT_INVALID: {
    kind: 'input',
    reason: 'InvalidInput',
    summary: 'a file, flag or object could not be read',
    status: 500,
    exit: 2,
  },
  PW_POLICY_INVALID: {
    kind: 'input',
    reason: 'InvalidPolicy',
    summary: 'the SourcePolicy document is not valid',
    status: 500,
    exit: 2,
  },
  PW_REF_INVALID: {
    kind: 'input',
    reason: 'URLInvalid',
    summary: 'an OCI reference or URL is malformed',
    status: 500,
    exit: 2,
  },
  PW_ARTIFACT_UNSAFE: {
    kind: 'input',
    reason: 'OCIArtifactLayerOperationFailed',
    summary: 'an artifact breaks an extraction limit or escapes its root',
    status: 500,
    exit: 1,
  },
  PW_REVIEW_MALFORMED: {
    kind: 'framing',
    reason: 'InvalidInput',
    summary: 'the AdmissionReview is malformed',
    status: 400,
    exit: 2,
  },
  PW_REVIEW_TOO_LARGE: {
    kind: 'framing',
    reason: 'InvalidInput',
    summary: 'the AdmissionReview body is too large',
    status: 413,
    exit: 2,
  },
  PW_REVIEW_MEDIA_TYPE: {
    kind: 'framing',
    reason: 'InvalidInput',
    summary: 'the AdmissionReview has the wrong content type',
    status: 415,
    exit: 2,
  },
  PW_REGISTRY_UNREACHABLE: {
    kind: 'unavailable',
    reason: 'OCIArtifactPullFailed',
    summary: 'the registry could not be reached or answered with a server error',
    status: 500,
    exit: 1,
  },
  PW_REGISTRY_AUTH: {
    kind: 'unavailable',
    reason: 'AuthenticationFailed',
    summary: 'the registry refused the credentials',
    status: 500,
    exit: 1,
  },
  PW_REGISTRY_PROTOCOL: {
    kind: 'unavailable',
    reason: 'OCIArtifactPullFailed',
    summary: 'the registry answered outside the distribution spec',
    status: 500,
    exit: 1,
  },
  PW_REGISTRY_ADDRESS_DENIED: {
    kind: 'input',
    reason: 'InvalidInput',
    summary: 'the registry, redirect or token realm address is one the policy does not let the webhook contact',
    status: 500,
    exit: 2,
  },
  PW_MANIFEST_UNKNOWN: {
    kind: 'unavailable',
    reason: 'OCIArtifactPullFailed',
    summary: 'the tag or manifest does not exist',
    status: 500,
    exit: 1,
  },
  PW_NO_MATCHING_TAG: {
    kind: 'unavailable',
    reason: 'ReadOperationFailed',
    summary: 'no tag satisfies the semver range',
    status: 500,
    exit: 1,
  },
  PW_RATE_LIMITED: {
    kind: 'unavailable',
    reason: 'OCIArtifactPullFailed',
    summary: 'the registry rate-limited the request',
    status: 500,
    exit: 1,
  },
  PW_DEADLINE: {
    kind: 'unavailable',
    reason: 'OCIArtifactPullFailed',
    summary: 'the call ran out of time',
    status: 500,
    exit: 1,
  },
  PW_TOO_LARGE: {
    kind: 'verification',
    reason: 'OCIArtifactPullFailed',
    summary: 'a manifest or blob exceeds its size cap',
    status: 500,
    exit: 1,
  },
  PW_DIGEST_MISMATCH: {
    kind: 'verification',
    reason: 'OCIArtifactPullFailed',
    summary: 'content does not match its digest or size',
    status: 500,
    exit: 1,
  },
  PW_SIGNATURE_NOT_FOUND: {
    kind: 'verification',
    reason: 'VerificationError',
    summary: 'no signature was found',
    status: 500,
    exit: 1,
  },
  PW_SIGNATURE_INVALID: {
    kind: 'verification',
    reason: 'VerificationError',
    summary: 'no signature verified',
    status: 500,
    exit: 1,
  },
  PW_IDENTITY_MISMATCH: {
    kind: 'verification',
    reason: 'VerificationError',
    summary: 'the signer identity is not one the policy allows',
    status: 500,
    exit: 1,
  },
  PW_VERIFY_UNSUPPORTED: {
    kind: 'verification',
    reason: 'VerificationError',
    summary: 'the verification provider is not supported',
    status: 500,
    exit: 1,
  },
  PW_KEY_NOT_TRUSTED: {
    kind: 'verification',
    reason: 'VerificationError',
    summary: 'a public key in verify.secretRef is not one the policy trusts',
    status: 500,
    exit: 1,
  },
  PW_TRUST_ROOT_NOT_TRUSTED: {
    kind: 'verification',
    reason: 'VerificationError',
    summary: 'the trusted root in verify.trustedRootSecretRef is not one the policy trusts',
    status: 500,
    exit: 1,
  },
  PW_KUBE_API: {
    kind: 'unavailable',
    reason: 'ReconciliationFailed',
    summary: 'the Kubernetes API could not be reached or refused a read',
    status: 500,
    exit: 1,
  },
  PW_INTERNAL: {
    kind: 'internal',
    reason: 'ReconciliationFailed',
    summary: 'an unexpected internal error',
    status: 500,
    exit: 2,
  },
  PW_INPUT_TOO_LARGE: {
    kind: 'input',
    reason: 'InvalidInput',
    summary: 'a field of the object is over its size cap, or deciding it would cost more than its budget',
    status: 500,
    exit: 2,
  },
  PW_REVIEW_BUSY: {
    kind: 'framing',
    reason: 'InvalidInput',
    summary: 'the webhook holds its maximum of request bodies in flight and refuses more for now',
    status: 503,
    exit: 2,
  },
  PW_USAGE: {
    kind: 'input',
    reason: 'InvalidInput',
    summary: 'the command line is not valid (unknown option, missing argument)',
    status: 500,
    exit: 2,
  },
  PW_INPUT_EMPTY: {
    kind: 'input',
    reason: 'InvalidInput',
    summary: 'check read no documents at all',
    status: 500,
    exit: 2,
  },
  PW_NODE_UNSUPPORTED: {
    kind: 'input',
    reason: 'InvalidInput',
    summary: 'the Node.js running pinwarden is older than it supports',
    status: 500,
    exit: 2,
  },
  PW_COMMIT_BINDING: {
    kind: 'verification',
    reason: 'VerificationError',
    summary: "the artifact's source/revision annotations are not the repository and commit its signing workflow ran on",
    status: 500,
    exit: 1,
  },
  PW_EXCEPTION_INVALID: {
    kind: 'input',
    reason: 'InvalidInput',
    summary: 'a SourcePolicyException document is not valid',
    status: 500,
    exit: 2,
  },
  PW_PIN_STALE: {
    kind: 'input',
    reason: 'InvalidInput',
    summary: 'spec.ref.digest was pinned from another tag or semver range than spec.ref names now',
    status: 500,
    exit: 1,
  },
  PW_BUILD_FAILED: {
    kind: 'input',
    reason: 'BuildFailed',
    summary:
      'the manifests under a Kustomization path could not be read as plain Kubernetes YAML (or need a kustomize build)',
  },
  PW_ARTIFACT_FAILED: {
    kind: 'unavailable',
    reason: 'ArtifactFailed',
    summary: "a Kustomization's source, artifact or path is not there (yet)",
  },
  PW_APPLY_FAILED: {
    kind: 'unavailable',
    reason: 'ReconciliationFailed',
    summary: 'the Kubernetes API refused to apply an object',
  },
  PW_PRUNE_FAILED: {
    kind: 'unavailable',
    reason: 'PruneFailed',
    summary: 'an object of the previous inventory could not be deleted',
  },
  PW_HEALTH_CHECK_FAILED: {
    kind: 'unavailable',
    reason: 'HealthCheckFailed',
    summary: 'applied objects did not become ready within the timeout',
  },
  PW_DEPENDENCY_NOT_READY: {
    kind: 'unavailable',
    reason: 'DependencyNotReady',
    summary: 'a Kustomization in dependsOn is not Ready yet',
  },
  PW_ACCESS_DENIED: {
    kind: 'input',
    reason: 'AccessDenied',
    summary: 'a Kustomization refers to a source in another namespace while cross-namespace references are blocked',
  },
  PW_DEPENDENCY_EXPRESSION: {
    kind: 'input',
    reason: 'InvalidCELExpression',
    summary: 'a dependsOn readyExpr (CEL) that pinwarden does not evaluate',
  },
  PW_POLICY_DENIED: {
    kind: 'input',
    reason: 'PolicyDenied',
    summary: 'the controller refused an object the SourcePolicy denies (the same rules as the webhook)',
    status: 500,
    exit: 2,
  },
  PW_ARTIFACT_INVALID: {
    kind: 'input',
    reason: 'OCIArtifactLayerOperationFailed',
    summary: 'an artifact is not what it must be: not an image manifest, no such layer, or not a readable gzip tar',
    status: 500,
    exit: 1,
  },
  PW_KUBECONFIG_NOT_FOUND: {
    kind: 'unavailable',
    reason: 'KubeConfigNotFound',
    summary: "a Kustomization's spec.kubeConfig Secret, or its key, is not there (yet)",
  },
  PW_KUBECONFIG_INVALID: {
    kind: 'input',
    reason: 'InvalidKubeConfig',
    summary: "a Kustomization's spec.kubeConfig Secret does not hold a usable kubeconfig",
  },
  PW_KUBECONFIG_REFUSED: {
    kind: 'input',
    reason: 'KubeConfigRefused',
    summary:
      "a Kustomization's kubeconfig needs what the controller does not allow (exec, insecure TLS, files, configMapRef)",
  },
  PW_REMOTE_CLUSTER_DENIED: {
    kind: 'input',
    reason: 'RemoteClusterDenied',
    summary: "a Kustomization's kubeconfig names an API server that is not in the controller's --remote-cluster list",
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * Why a signature failed, under its stable PW code (sigstore-js's codes, plus pinwarden's own for the checks
 * it makes itself). Tests and callers match on these, never on message text. Append new ones at the end.
 */
export const SIGNATURE_REASONS = [
  'BUNDLE_ERROR',
  'PAYLOAD_ERROR',
  'CERTIFICATE_ERROR',
  'PUBLIC_KEY_ERROR',
  'SIGNATURE_ERROR',
  'TLOG_ERROR',
  'TLOG_BODY_ERROR',
  'TLOG_INCLUSION_PROOF_ERROR',
  'TLOG_INCLUSION_PROMISE_ERROR',
  'TLOG_MISSING_INCLUSION_ERROR',
  'TIMESTAMP_ERROR',
  'UNTRUSTED_SIGNER_ERROR',
  'NOT_IMPLEMENTED_ERROR',
  'IDENTITY_ERROR',
  'MALFORMED_INPUT_ERROR',
  'MANIFEST_ERROR',
  'MIXED_ERROR',
] as const;
export type SignatureReason = (typeof SIGNATURE_REASONS)[number];

export function isSignatureReason(value: unknown): value is SignatureReason {
  return typeof value === 'string' && (SIGNATURE_REASONS as readonly string[]).includes(value);
}

export interface PinwardenErrorOptions {
  cause?: unknown;
  /** Structured, already-redacted facts (field path, file, line, HTTP status, retryAfterMs…). */
  details?: Readonly<Record<string, unknown>>;
  /** Signature failures: the reason sub-code under the PW code. */
  subCode?: SignatureReason;
}

export class PinwardenError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;
  readonly subCode: SignatureReason | undefined;

  /** `message` must already be safe to show: no tokens, no Authorization headers, no URL query strings. */
  constructor(code: ErrorCode, message: string, options: PinwardenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PinwardenError';
    this.code = code;
    this.details = options.details ?? {};
    this.subCode = options.subCode;
  }

  get kind(): ErrorKind {
    return ERRORS[this.code].kind;
  }

  /** HTTP status of a webhook answer this error decides (catalogue). */
  get status(): number {
    return statusFor(this.code);
  }

  /** CLI exit code (catalogue). */
  get exitCode(): 1 | 2 {
    return exitCodeOf(this.code);
  }

  /** Flux condition reason (catalogue). */
  get reason(): string {
    return ERRORS[this.code].reason;
  }
}

function entryOf(code: ErrorCode): CatalogueEntry {
  return ERRORS[code];
}

export function statusFor(code: ErrorCode): number {
  const entry = entryOf(code);
  return entry.status ?? KIND_DEFAULTS[entry.kind].status;
}

function exitCodeOf(code: ErrorCode): 1 | 2 {
  const entry = entryOf(code);
  return entry.exit ?? KIND_DEFAULTS[entry.kind].exit;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

export function isPinwardenError(value: unknown): value is PinwardenError {
  return value instanceof PinwardenError;
}

/**
 * Wraps anything thrown into a PinwardenError. A foreign error's message never travels on (a library may put
 * a URL with `?token=…` in it): the wrapper says what kind of failure it was, and keeps the original as
 * `cause` for debugging.
 */
export function toPinwardenError(value: unknown, fallback: ErrorCode = 'PW_INTERNAL'): PinwardenError {
  if (value instanceof PinwardenError) return value;
  return new PinwardenError(fallback, `${ERRORS[fallback].summary}${foreignType(value)}`, { cause: value });
}

/** ` (TypeError)`: the class name of a foreign error, when it is a plain identifier; never its message. */
function foreignType(value: unknown): string {
  const name = value instanceof Error ? value.name : typeof value;
  return /^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(name) ? ` (${name})` : '';
}

/**
 * Log fields for an error that reach operators: the code, the safe message, and for a foreign cause only its
 * type and stack frames (not its message line).
 */
export function errorLogFields(value: unknown): Record<string, unknown> {
  const error = toPinwardenError(value);
  const cause = error.cause;
  const frames =
    cause instanceof Error && typeof cause.stack === 'string'
      ? cause.stack
          .split('\n')
          .filter((line) => /^\s+at /.test(line))
          .slice(0, 15)
      : [];
  return {
    code: error.code,
    message: error.message,
    ...(error.subCode ? { subCode: error.subCode } : {}),
    ...(cause instanceof Error && !(cause instanceof PinwardenError)
      ? { causeType: cause.name, ...(frames.length > 0 ? { causeStack: frames.join('\n') } : {}) }
      : {}),
  };
}

/** CLI contract: 0 ok, 1 policy violation / verification failure / unavailable, 2 usage or input error. */
export function exitCodeFor(error: PinwardenError | ErrorCode): 1 | 2 {
  return exitCodeOf(typeof error === 'string' ? error : error.code);
}

/** Transient errors may succeed on retry; they are never negatively cached. */
export function isTransient(error: PinwardenError): boolean {
  return error.kind === 'unavailable' || error.kind === 'internal';
}
