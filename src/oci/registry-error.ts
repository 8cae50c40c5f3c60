/**
 * Registry answers → PinwardenError. Error bodies follow
 * https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes
 * (`{"errors":[{"code","message","detail"}]}`); only code and message reach our text, capped, because
 * `detail` may echo request data. URLs are shown without query strings (upload `_state`, signed URLs).
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
        .map((entry) => [entry.code, entry.message].filter((part) => typeof part === 'string' && part !== '').join(': '))
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

export function statusError(method: string, url: URL, status: number, body: Uint8Array, extra: Record<string, unknown> = {}): PinwardenError {
  const summary = summarizeErrorBody(body);
  const text = `${method} ${redactUrl(url)}: ${status}${summary === '' ? '' : ` ${summary}`}`;
  return new PinwardenError(codeForStatus(status), text, { details: { status, ...extra } });
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
