/**
 * Registry credentials and the dockerconfigjson lookup that Flux's `spec.secretRef` and image pull secrets
 * use (`auths` keyed by host or URL; `auth` = base64 `user:pass`, or `username`/`password`;
 * `identitytoken` is an OAuth2 refresh token, `registrytoken` a ready bearer token — docker/cli
 * `configfile`/`types.AuthConfig`). Never put a secret into an error message.
 */
import { createHash } from 'node:crypto';
import { PinwardenError } from '../core/errors.ts';
import { DOCKER_HUB_REGISTRY } from './reference.ts';

export interface Credentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (`identitytoken`), exchanged at the token realm with a POST. */
  identityToken?: string;
  /** A bearer token used as is (`registrytoken`). */
  registryToken?: string;
}

const DOCKER_HUB_KEYS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
  registrytoken?: unknown;
}

/**
 * Credentials for `host` from a dockerconfigjson document (text or parsed), or undefined when it has none.
 * Keys may be `host`, `https://host`, `https://host/v1/` …; Docker Hub also matches `https://index.docker.io/v1/`.
 */
export function credentialsFromDockerConfig(json: string | object, host: string): Credentials | undefined {
  const config = typeof json === 'string' ? parseConfig(json) : json;
  const auths = (config as { auths?: unknown }).auths;
  if (auths === null || typeof auths !== 'object') return undefined;
  const wanted = normalizeKey(host);
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    if (!sameRegistry(normalizeKey(key), wanted)) continue;
    if (entry === null || typeof entry !== 'object') continue;
    const credentials = fromEntry(entry, key);
    if (credentials) return credentials;
  }
  return undefined;
}

/** A stable, non-reversible identity for cache keys: equal credentials → equal identity. */
export function credentialsIdentity(credentials: Credentials | undefined): string {
  if (!hasCredentials(credentials)) return 'anonymous';
  const material = JSON.stringify([
    credentials?.username,
    credentials?.password,
    credentials?.identityToken,
    credentials?.registryToken,
  ]);
  return `sha256:${createHash('sha256').update(material).digest('hex').slice(0, 32)}`;
}

export function hasCredentials(credentials: Credentials | undefined): boolean {
  if (!credentials) return false;
  return [credentials.username, credentials.password, credentials.identityToken, credentials.registryToken].some(
    (value) => value !== undefined && value !== '',
  );
}

function parseConfig(text: string): object {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') return parsed;
  } catch {
    // fall through: the message must not quote the document, it holds secrets
  }
  throw new PinwardenError('PW_INPUT_INVALID', 'docker config is not a JSON object');
}

function fromEntry(entry: AuthEntry, key: string): Credentials | undefined {
  const credentials: Credentials = {};
  if (typeof entry.auth === 'string' && entry.auth !== '') Object.assign(credentials, decodeAuth(entry.auth, key));
  if (typeof entry.username === 'string' && entry.username !== '') credentials.username = entry.username;
  if (typeof entry.password === 'string' && entry.password !== '') credentials.password = entry.password;
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '')
    credentials.identityToken = entry.identitytoken;
  if (typeof entry.registrytoken === 'string' && entry.registrytoken !== '')
    credentials.registryToken = entry.registrytoken;
  return hasCredentials(credentials) ? credentials : undefined;
}

function decodeAuth(auth: string, key: string): Credentials {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `docker config entry '${safeKey(key)}' has an 'auth' value that is not base64 of user:password`,
    );
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `https://Host:5000/v1/` → `host:5000` (scheme, path and case dropped, as docker's ConvertToHostname). */
function normalizeKey(key: string): string {
  let host = key.trim().toLowerCase();
  const scheme = host.indexOf('://');
  if (scheme >= 0) host = host.slice(scheme + 3);
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  return host;
}

function sameRegistry(a: string, b: string): boolean {
  if (a === b) return true;
  return DOCKER_HUB_KEYS.has(a) && DOCKER_HUB_KEYS.has(b);
}

function safeKey(key: string): string {
  return normalizeKey(key) || DOCKER_HUB_REGISTRY;
}
