/**
 * Registry answers → PinwardenError. Error bodies follow
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes
 * (`{"errors":[{"code","message","detail"}]}`). An error's message carries the method, the redacted URL, the
 * HTTP status and only the distribution-spec error codes of the body (a fixed vocabulary), never the body's
 * text: the webhook answers tenants with these messages, and a body may come from whatever a tenant's registry
 * redirected or pointed us at (no read-back). The capped, redacted summary goes to debug logs through the
 * `response-body` event. URLs are shown without query strings (upload `_state`, signed URLs).
 */
import { PinwardenError } from '../core/errors.ts';
import type { ErrorCode } from '../core/errors.ts';

const MAX_SUMMARY = 200;

/** `https://host/v2/repo/manifests/tag` with query, fragment and userinfo removed. */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** `CODE: message; CODE2: message2`, or a trimmed text body, capped and free of control characters. */
export function summarizeErrorBody(body: Uint8Array): string {
  const text = new TextDecoder().decode(body);
  let summary = text.trim();
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    if (Array.isArray(parsed.errors)) {
      summary = parsed.errors
        .map((entry) =>
          [entry.code, entry.message].filter((part) => typeof part === 'string' && part !== '').join(': '),
        )
        .filter((part) => part !== '')
        .join('; ');
    }
  } catch {
    // Not JSON: keep the text (some registries and proxies answer in plain text or HTML).
  }
  return cap(redactSecrets(stripControl(summary)));
}

/** A proxy's text body could echo request headers: blank anything shaped like a credential. */
export function redactSecrets(text: string): string {
  return text
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
    .replace(/\beyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}/g, '[redacted-jwt]');
}

/** The catalogue code for a final (non-retried) HTTP status. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'PW_REGISTRY_AUTH';
  if (status === 404) return 'PW_MANIFEST_UNKNOWN';
  if (status === 429) return 'PW_RATE_LIMITED';
  if (status >= 500) return 'PW_REGISTRY_UNREACHABLE';
  return 'PW_REGISTRY_PROTOCOL';
}

/** The distribution-spec error codes (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes). */
const SPEC_ERROR_CODES = new Set([
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
]);

/** The body's distribution-spec codes, e.g. `MANIFEST_UNKNOWN`; nothing else of the body. */
export function specErrorCodes(body: Uint8Array): string[] {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { errors?: { code?: unknown }[] };
    if (!Array.isArray(parsed.errors)) return [];
    const codes = parsed.errors
      .map((entry) => entry?.code)
      .filter((code): code is string => typeof code === 'string' && SPEC_ERROR_CODES.has(code));
    return [...new Set(codes)];
  } catch {
    return [];
  }
}

export function statusError(
  method: string,
  url: URL,
  status: number,
  body: Uint8Array,
  extra: Record<string, unknown> = {},
): PinwardenError {
  const codes = specErrorCodes(body);
  const text = `${method} ${redactUrl(url)}: ${status}${codes.length === 0 ? '' : ` ${codes.join(', ')}`}`;
  return new PinwardenError(codeForStatus(status), text, { details: { status, host: url.host, ...extra } });
}

export function protocolError(method: string, url: URL, why: string): PinwardenError {
  return new PinwardenError('PW_REGISTRY_PROTOCOL', `${method} ${redactUrl(url)}: ${why}`);
}

function stripControl(text: string): string {
  let out = '';
  for (const char of text) out += char < ' ' || char === '\u007f' ? ' ' : char;
  return out.replace(/\s+/g, ' ').trim();
}

function cap(text: string): string {
  return text.length > MAX_SUMMARY ? `${text.slice(0, MAX_SUMMARY)}…` : text;
}
