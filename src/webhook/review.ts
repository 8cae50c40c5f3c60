/**
 * AdmissionReview `admission.k8s.io/v1` codec and the response vocabulary (controller-runtime's `Allowed`,
 * `Denied`, `Patched`, `Errored`, `WithWarnings`). The envelope is checked strictly (apiVersion, kind,
 * request.uid); `request.object` and everything else are read tolerantly, since unknown or absent fields must
 * never crash the webhook.
 */
import { PinwardenError } from '../core/errors.ts';
import { asRecord, asString } from '../core/flux/index.ts';
import type { PatchOp } from '../core/mutation/index.ts';
import { limitWarnings } from './warnings.ts';

export const REVIEW_API_VERSION = 'admission.k8s.io/v1';
const MAX_UID_LENGTH = 128;
/** The whole encoded answer stays under this (the denial text is what can grow). */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** Denial and error texts are cut to this many characters (UTF-16 units; at most 3 bytes each in JSON). */
const MAX_MESSAGE_CHARS = 8 * 1024;

export interface AdmissionRequest {
  uid: string;
  operation: string;
  namespace?: string;
  subResource?: string;
  dryRun: boolean;
  object: unknown;
  oldObject?: unknown;
  /** `user` for logs; the rules never depend on who asks. */
  user?: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { status: 'Failure'; code: number; reason: string; message: string };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export function decodeReview(body: unknown): AdmissionRequest {
  const review = asRecord(body);
  if (!review) throw malformed('the body is not a JSON object');
  if (review.apiVersion !== REVIEW_API_VERSION)
    throw malformed(`apiVersion must be ${REVIEW_API_VERSION}, got ${describe(review.apiVersion)}`);
  if (review.kind !== 'AdmissionReview') throw malformed(`kind must be AdmissionReview, got ${describe(review.kind)}`);
  const request = asRecord(review.request);
  if (!request) throw malformed('request is missing or not an object');
  const uid = asString(request.uid);
  if (uid === undefined || uid === '') throw malformed('request.uid is missing');
  // The uid is echoed in the answer: a Kubernetes uid is a 36-character UUID, so a long one is not a review.
  if (uid.length > MAX_UID_LENGTH) throw malformed(`request.uid is longer than ${MAX_UID_LENGTH} characters`);
  const namespace = asString(request.namespace);
  const subResource = asString(request.subResource);
  const user = asString(asRecord(request.userInfo)?.username);
  return {
    uid,
    operation: asString(request.operation) ?? '',
    ...(namespace ? { namespace } : {}),
    ...(subResource ? { subResource } : {}),
    dryRun: request.dryRun === true,
    object: request.object ?? null,
    ...(request.oldObject !== undefined && request.oldObject !== null ? { oldObject: request.oldObject } : {}),
    ...(user ? { user } : {}),
  };
}

export function encodeReview(response: AdmissionResponse): {
  apiVersion: string;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
} {
  return { apiVersion: REVIEW_API_VERSION, kind: 'AdmissionReview', response };
}

export function allowed(uid: string, warnings: readonly string[] = []): AdmissionResponse {
  return withWarnings({ uid, allowed: true }, warnings);
}

export function denied(uid: string, message: string, warnings: readonly string[] = []): AdmissionResponse {
  return withWarnings(
    {
      uid,
      allowed: false,
      status: { status: 'Failure', code: 403, reason: 'Forbidden', message: boundMessage(message) },
    },
    warnings,
  );
}

export function patched(uid: string, patch: readonly PatchOp[], warnings: readonly string[] = []): AdmissionResponse {
  if (patch.length === 0) return allowed(uid, warnings);
  const encoded = Buffer.from(JSON.stringify(patch)).toString('base64');
  return withWarnings({ uid, allowed: true, patchType: 'JSONPatch', patch: encoded }, warnings);
}

/** Fail-closed answer that still echoes the uid (the apiserver rejects a review with another uid). */
export function errored(uid: string, code: number, message: string): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: {
      status: 'Failure',
      code,
      reason: code === 500 ? 'InternalError' : 'BadRequest',
      message: boundMessage(message),
    },
  };
}

export function withWarnings(response: AdmissionResponse, warnings: readonly string[]): AdmissionResponse {
  // Most answers carry no warning: no Set and no copies for them (every review passes here).
  if (warnings.length === 0) return response;
  const limited = limitWarnings(warnings);
  return limited.length === 0 ? response : { ...response, warnings: limited };
}

function malformed(why: string): PinwardenError {
  return new PinwardenError('PW_REVIEW_MALFORMED', `malformed AdmissionReview: ${why}`);
}

/** Never serialises the value: a field nested 5,000 deep would overflow JSON.stringify's stack. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `"${cutQuoted(value, 60)}"`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function cutQuoted(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * Every quoted value in a message is cut to MAX_QUOTED_CHARS (denials quote tenant patterns, names and
 * URLs), then the whole text to MAX_MESSAGE_CHARS: an answer never grows with the tenant's input.
 * One linear pass, no regex.
 */
export function boundMessage(message: string): string {
  let out = '';
  let quoted = -1;
  let start = 0;
  for (let index = 0; index < message.length && out.length <= MAX_MESSAGE_CHARS; index++) {
    if (message.charCodeAt(index) !== 0x22) continue;
    if (quoted < 0) {
      quoted = index;
      continue;
    }
    const length = index - quoted - 1;
    if (length > MAX_QUOTED_CHARS) {
      out += `${message.slice(start, quoted + 1 + MAX_QUOTED_CHARS)}…`;
      start = index;
    }
    quoted = -1;
  }
  if (quoted >= 0 && message.length - quoted - 1 > MAX_QUOTED_CHARS) {
    out += `${message.slice(start, quoted + 1 + MAX_QUOTED_CHARS)}…`;
    start = message.length;
  }
  out += message.slice(start);
  return out.length > MAX_MESSAGE_CHARS ? `${out.slice(0, MAX_MESSAGE_CHARS)}… (cut)` : out;
}

const MAX_QUOTED_CHARS = 200;
