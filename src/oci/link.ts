/**
 * RFC 8288 `Link` headers as registries use them for pagination
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-tags):
 * `</v2/acme/app/tags/list?n=100&last=v1.2.3>; rel="next"`. Targets are resolved against the request URL
 * and must stay on the registry's origin (a registry cannot send us, and our credentials, elsewhere).
 */
import { PinwardenError } from '../core/errors.ts';
import { redactUrl } from './registry-error.ts';

/** The `rel="next"` target, or undefined at the last page. */
export function nextLink(header: string | string[] | undefined, requestUrl: URL): URL | undefined {
  const value = Array.isArray(header) ? header.join(', ') : header;
  if (value === undefined || value.trim() === '') return undefined;
  for (const { target, rels } of parseLinks(value)) {
    if (!rels.includes('next')) continue;
    let url: URL;
    try {
      url = new URL(target, requestUrl);
    } catch {
      throw new PinwardenError('PW_REGISTRY_PROTOCOL', `${redactUrl(requestUrl)}: Link header has an invalid next URL`);
    }
    if (url.origin !== requestUrl.origin) {
      throw new PinwardenError(
        'PW_REGISTRY_PROTOCOL',
        `${redactUrl(requestUrl)}: Link header points to another origin (${url.origin})`,
      );
    }
    return url;
  }
  return undefined;
}

interface Link {
  target: string;
  rels: string[];
}

/** `<a>; rel="next", <b>; rel=prev` → targets with their (lowercased) relation types. */
export function parseLinks(value: string): Link[] {
  const links: Link[] = [];
  let position = 0;
  while (position < value.length) {
    const open = value.indexOf('<', position);
    if (open < 0) break;
    const close = value.indexOf('>', open);
    if (close < 0) break;
    const nextOpen = value.indexOf('<', close);
    const params = value.slice(close + 1, nextOpen < 0 ? value.length : nextOpen);
    links.push({ target: value.slice(open + 1, close).trim(), rels: relsOf(params) });
    position = nextOpen < 0 ? value.length : nextOpen;
  }
  return links;
}

function relsOf(params: string): string[] {
  for (const param of params.split(';')) {
    const [name, ...rest] = param.split('=');
    if (name?.trim().toLowerCase() !== 'rel') continue;
    const raw = rest.join('=').trim().replace(/,\s*$/, '');
    const unquoted = raw.startsWith('"')
      ? raw.slice(1, raw.lastIndexOf('"') > 0 ? raw.lastIndexOf('"') : undefined)
      : raw;
    return unquoted
      .toLowerCase()
      .split(/\s+/)
      .filter((rel) => rel !== '');
  }
  return [];
}
