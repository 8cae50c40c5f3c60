/**
 * Referrers of a manifest: the referrers API
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers), which answers
 * with an image index and may page with `Link`; a registry without it (404/400/405/406, or an answer that
 * is not an index) is asked for the referrers tag schema instead: the image index tagged `sha256-<hex>`
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#referrers-tag-schema).
 */
import { PinwardenError } from '../core/errors.ts';
import { readCapped } from './body.ts';
import { nextLink } from './link.ts';
import { bareMediaType, indexDescriptors } from './manifest.ts';
import { redactUrl } from './registry-error.ts';
import type { PagedListing } from './tags.ts';
import type { Call, Descriptor, Repository } from './types.ts';
import { MEDIA_TYPES } from './types.ts';

export interface ReferrersListing extends PagedListing {
  repository: Pick<Repository, 'fetchManifest'>;
}

const NO_REFERRERS_API = new Set([400, 404, 405, 406]);
const MAX_REFERRERS = 10_000;

export async function listReferrers(
  listing: ReferrersListing,
  subject: Descriptor,
  artifactType: string | undefined,
  call: Call,
): Promise<Descriptor[]> {
  const fromApi = await viaApi(listing, subject, artifactType, call);
  const found = fromApi ?? (await viaTagSchema(listing, subject, call));
  return artifactType === undefined ? found : found.filter((descriptor) => descriptor.artifactType === artifactType);
}

/** The API's answer, or undefined when this registry does not implement it. */
async function viaApi(
  listing: ReferrersListing,
  subject: Descriptor,
  artifactType: string | undefined,
  call: Call,
): Promise<Descriptor[] | undefined> {
  const first = new URLSearchParams();
  if (artifactType !== undefined) first.set('artifactType', artifactType);
  let target: string | URL =
    `/v2/${listing.path}/referrers/${subject.digest}${first.size > 0 ? `?${first.toString()}` : ''}`;
  const found: Descriptor[] = [];
  for (let page = 0; page < listing.maxPages; page++) {
    const response = await listing.client.send(
      { method: 'GET', target, headers: { accept: MEDIA_TYPES.ociIndex }, endpoint: 'referrers', action: 'pull' },
      call,
    );
    const isIndex = bareMediaType(headerOf(response.headers['content-type'])) === MEDIA_TYPES.ociIndex;
    if (page === 0 && (NO_REFERRERS_API.has(response.status) || (response.status === 200 && !isIndex))) {
      response.body.resume();
      return undefined;
    }
    if (response.status !== 200) throw await listing.client.failure(response, call);
    const what = `GET ${redactUrl(response.url)}`;
    found.push(...indexDescriptors(await readCapped(response, listing.maxBytes, { what, signal: call.signal }), what));
    if (found.length > MAX_REFERRERS)
      throw new PinwardenError('PW_TOO_LARGE', `${what}: more than ${MAX_REFERRERS} referrers`);
    const next = nextLink(response.headers.link, response.url);
    if (next === undefined) return found;
    target = next;
  }
  throw new PinwardenError('PW_TOO_LARGE', `referrers of ${subject.digest} span more than ${listing.maxPages} pages`);
}

/** The `sha256-<hex>` tag: an image index listing the referrers; no such tag means none. */
async function viaTagSchema(listing: ReferrersListing, subject: Descriptor, call: Call): Promise<Descriptor[]> {
  const tag = subject.digest.replace(':', '-');
  let manifest;
  try {
    manifest = await listing.repository.fetchManifest(tag, call);
  } catch (error) {
    if (error instanceof PinwardenError && error.code === 'PW_MANIFEST_UNKNOWN') return [];
    throw error;
  }
  const what = `referrers tag ${tag} of ${listing.path}`;
  if (manifest.descriptor.mediaType !== MEDIA_TYPES.ociIndex) {
    throw new PinwardenError(
      'PW_REGISTRY_PROTOCOL',
      `${what} is a ${manifest.descriptor.mediaType}, not an image index`,
    );
  }
  return indexDescriptors(manifest.bytes, what);
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
