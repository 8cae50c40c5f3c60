/**
 * Tag listing with `Link` pagination
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-tags), bounded in pages,
 * page size and total tags so a hostile registry cannot keep us paging forever.
 */
import { PinwardenError } from '../core/errors.ts';
import { readCapped } from './body.ts';
import type { RegistryClient } from './client.ts';
import { nextLink } from './link.ts';
import { parseJsonObject } from './manifest.ts';
import { redactUrl } from './registry-error.ts';
import type { Call } from './types.ts';

export interface PagedListing {
  client: RegistryClient;
  path: string;
  pageSize: number;
  maxPages: number;
  /** Cap on one page's body. */
  maxBytes: number;
}

const MAX_TAGS = 100_000;

export async function* listTags(listing: PagedListing, call: Call): AsyncGenerator<string> {
  let target: string | URL = `/v2/${listing.path}/tags/list?n=${listing.pageSize}`;
  const visited = new Set<string>();
  let count = 0;
  for (let page = 0; page < listing.maxPages; page++) {
    const response = await listing.client.send({ method: 'GET', target, endpoint: 'tags', action: 'pull' }, call);
    if (response.status !== 200) throw await listing.client.failure(response, call);
    const what = `GET ${redactUrl(response.url)}`;
    const tags = parseTags(await readCapped(response, listing.maxBytes, { what, signal: call.signal }), what);
    count += tags.length;
    if (count > MAX_TAGS) throw new PinwardenError('PW_TOO_LARGE', `${what}: more than ${MAX_TAGS} tags`);
    yield* tags;
    const next = nextLink(response.headers.link, response.url);
    if (next === undefined) return;
    if (visited.has(next.href)) throw new PinwardenError('PW_REGISTRY_PROTOCOL', `${what}: tag pagination loops`);
    visited.add(next.href);
    target = next;
  }
  throw new PinwardenError('PW_TOO_LARGE', `tag list of ${listing.path} has more than ${listing.maxPages} pages`);
}

/** `{"name":"…","tags":[…]}`; `tags` may be null for an empty repository. */
function parseTags(bytes: Uint8Array, what: string): string[] {
  const body = parseJsonObject(bytes);
  const tags = body?.tags;
  if (tags === null && body !== undefined) return [];
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    throw new PinwardenError('PW_REGISTRY_PROTOCOL', `${what}: not a tag list`);
  }
  return tags;
}
