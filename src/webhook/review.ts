/**
 * AdmissionReview `admission.k8s.io/v1` codec and the response vocabulary (controller-runtime's `Allowed`,
 * `Denied`, `Patched`, `Errored`, `WithWarnings`). The envelope is checked strictly (apiVersion, kind,
 * request.uid); `request.object` and everything else are read tolerantly, since unknown or absent fields must
 * never crash the webhook.
 */
import { PinwardenError } from '../core/errors.ts';
import { asRecord, asString } from '../core/flux/objects.ts';
import type { PatchOp } from '../core/mutation/index.ts';
import { limitWarnings } from './warnings.ts';

export const REVIEW_API_VERSION = 'admission.k8s.io/v1';

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
  if (review.apiVersion !== REVIEW_API_VERSION) throw malformed(`apiVersion must be ${REVIEW_API_VERSION}, got ${describe(review.apiVersion)}`);
  if (review.kind !== 'AdmissionReview') throw malformed(`kind must be AdmissionReview, got ${describe(review.kind)}`);
  const request = asRecord(review.request);
  if (!request) throw malformed('request is missing or not an object');
  const uid = asString(request.uid);
  if (uid === undefined || uid === '') throw malformed('request.uid is missing');
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

export function encodeReview(response: AdmissionResponse): { apiVersion: string; kind: 'AdmissionReview'; response: AdmissionResponse } {
  return { apiVersion: REVIEW_API_VERSION, kind: 'AdmissionReview', response };
}

export function allowed(uid: string, warnings: readonly string[] = []): AdmissionResponse {
  return withWarnings({ uid, allowed: true }, warnings);
}

export function denied(uid: string, message: string, warnings: readonly string[] = []): AdmissionResponse {
  return withWarnings({ uid, allowed: false, status: { status: 'Failure', code: 403, reason: 'Forbidden', message } }, warnings);
}

export function patched(uid: string, patch: readonly PatchOp[], warnings: readonly string[] = []): AdmissionResponse {
  if (patch.length === 0) return allowed(uid, warnings);
  const encoded = Buffer.from(JSON.stringify(patch)).toString('base64');
  return withWarnings({ uid, allowed: true, patchType: 'JSONPatch', patch: encoded }, warnings);
}

/** Fail-closed answer that still echoes the uid (the apiserver rejects a review with another uid). */
export function errored(uid: string, code: number, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { status: 'Failure', code, reason: code === 500 ? 'InternalError' : 'BadRequest', message } };
}

export function withWarnings(response: AdmissionResponse, warnings: readonly string[]): AdmissionResponse {
  const limited = limitWarnings(warnings);
  return limited.length === 0 ? response : { ...response, warnings: limited };
}

function malformed(why: string): PinwardenError {
  return new PinwardenError('PW_REVIEW_MALFORMED', `malformed AdmissionReview: ${why}`);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? `"${value}"` : JSON.stringify(value) ?? typeof value;
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
