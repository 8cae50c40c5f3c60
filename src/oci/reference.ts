/**
 * `oci://` references, parsed the way Flux does (source-controller `parseRepository` on top of
 * go-containerregistry `name.NewRepository`): `spec.url` is `oci://host[:port]/path` with no tag or digest;
 * the first segment is a registry only if it contains `.` or `:`, otherwise the path is on Docker Hub.
 * Path components follow the distribution-spec grammar
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests), which also
 * keeps `..` and empty segments out of request URLs.
 */
import { PinwardenError } from '../core/errors.ts';
import { isDigest } from './digest.ts';
import type { Digest } from './types.ts';

export const OCI_PREFIX = 'oci://';

/** go-containerregistry's canonical Docker Hub name, and the host that actually serves its API. */
export const DOCKER_HUB_REGISTRY = 'index.docker.io';
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export interface RepositoryRef {
  /** Canonical registry name (`index.docker.io` for Docker Hub), used for credentials and cache keys. */
  registry: string;
  /** `host[:port]` the distribution API is served on (`registry-1.docker.io` for Docker Hub). */
  host: string;
  /** Repository path, e.g. `acme/app` (`library/alpine` on Docker Hub for single-segment names). */
  path: string;
}

export interface Reference extends RepositoryRef {
  tag?: string;
  digest?: Digest;
}

const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;

/** Parses an OCIRepository `spec.url`: tags and digests are refused, as source-controller refuses them. */
export function parseRepositoryUrl(url: string): RepositoryRef {
  const rest = stripScheme(url);
  const { registry, repo } = splitRegistry(rest);
  const colon = repo.indexOf(':');
  if (colon >= 0) {
    throw refError(url, `URL must not contain a tag; remove ':${repo.slice(colon + 1).split(':')[0] ?? ''}'`);
  }
  if (repo.includes('@')) throw refError(url, 'URL must not contain a digest');
  return buildRepository(url, registry, repo);
}

/** Parses a CLI reference: `oci://host/repo`, `oci://host/repo:tag` or `oci://host/repo@sha256:…`. */
export function parseReference(ref: string): Reference {
  const rest = stripScheme(ref);
  const { registry, repo: withSuffix } = splitRegistry(rest);
  const at = withSuffix.indexOf('@');
  const beforeDigest = at >= 0 ? withSuffix.slice(0, at) : withSuffix;
  const digest = at >= 0 ? withSuffix.slice(at + 1) : undefined;
  const colon = beforeDigest.lastIndexOf(':');
  const repo = colon >= 0 ? beforeDigest.slice(0, colon) : beforeDigest;
  const tag = colon >= 0 ? beforeDigest.slice(colon + 1) : undefined;
  const repository = buildRepository(ref, registry, repo);
  if (tag !== undefined && !TAG.test(tag)) throw refError(ref, `invalid tag '${tag}'`);
  if (digest !== undefined && !isDigest(digest))
    throw refError(ref, 'digest must be sha256: followed by 64 lowercase hex characters');
  return { ...repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** `registry/path`, the `Repository.name` form. */
export function repositoryName(ref: RepositoryRef): string {
  return `${ref.registry}/${ref.path}`;
}

/** `oci://registry/path[:tag][@digest]`, as a user would type it. */
export function formatReference(ref: Reference): string {
  const tag = ref.tag !== undefined ? `:${ref.tag}` : '';
  const digest = ref.digest !== undefined ? `@${ref.digest}` : '';
  return `${OCI_PREFIX}${repositoryName(ref)}${tag}${digest}`;
}

function stripScheme(url: string): string {
  if (!url.startsWith(OCI_PREFIX)) throw refError(url, "URL must be in format 'oci://<domain>/<org>/<repo>'");
  return url.slice(OCI_PREFIX.length);
}

/** go-containerregistry rule: the first segment names a registry only when it contains `.` or `:`. */
function splitRegistry(rest: string): { registry: string; repo: string } {
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':')))
    return { registry: first, repo: rest.slice(slash + 1) };
  return { registry: DOCKER_HUB_REGISTRY, repo: rest };
}

function buildRepository(input: string, registry: string, repo: string): RepositoryRef {
  if (registry.includes('@'))
    throw refError(input, 'credentials do not belong in the URL (use a docker config secret)');
  if (!HOST.test(registry) || !validPort(registry)) throw refError(input, `invalid registry host '${registry}'`);
  if (repo.length < 2 || repo.length > 255) throw refError(input, 'repository path must be 2 to 255 characters');
  if (!repo.split('/').every((component) => COMPONENT.test(component))) {
    throw refError(
      input,
      `repository path '${repo}' must be lowercase letters, digits and separators (. _ __ -), components joined by /`,
    );
  }
  const host = registry.toLowerCase();
  if (DOCKER_HUB_ALIASES.has(host)) {
    const path = repo.includes('/') ? repo : `library/${repo}`;
    return { registry: DOCKER_HUB_REGISTRY, host: DOCKER_HUB_API_HOST, path };
  }
  return { registry: host, host, path: repo };
}

function validPort(registry: string): boolean {
  const port = /:([0-9]+)$/.exec(registry)?.[1];
  return port === undefined || (Number(port) > 0 && Number(port) < 65536);
}

function refError(input: string, why: string): PinwardenError {
  return new PinwardenError('PW_REF_INVALID', `invalid OCI reference '${redactInput(input)}': ${why}`);
}

/** References never carry secrets, but a pasted URL may carry a query string or userinfo: drop both. */
function redactInput(input: string): string {
  const clipped = input.length > 300 ? `${input.slice(0, 300)}…` : input;
  return clipped.replace(/\?.*$/, '?…').replace(/\/\/[^/@]*@/, '//…@');
}
