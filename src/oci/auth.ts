/**
 * Registry authentication: anonymous, Basic, and the Docker bearer-token flow
 * (https://distribution.github.io/distribution/spec/auth/token/ and …/auth/oauth/): on a `401` with a
 * Bearer challenge, ask the realm for a token scoped `repository:<name>:pull` (or `pull,push`) — GET with
 * Basic credentials, or the OAuth2 POST refresh-token grant when we hold an identity token, as docker does.
 * Tokens are cached per (registry, realm, service, scope, credentials) until `expires_in` minus a margin.
 */
import { PinwardenError } from '../core/errors.ts';
import { readCapped } from './body.ts';
import { credentialsIdentity } from './credentials.ts';
import type { Credentials } from './credentials.ts';
import { emit, emitResponseBody } from './events.ts';
import type { EventSink } from './events.ts';
import { redactUrl, statusError } from './registry-error.ts';
import type { TokenCache } from './token-cache.ts';
import { tokenExpiry } from './token-cache.ts';
import type { TransportResponse } from './transport.ts';
import type { Call } from './types.ts';
import { parseWwwAuthenticate } from './www-authenticate.ts';
import type { Challenge } from './www-authenticate.ts';

export type Action = 'pull' | 'push';

export interface TokenRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: Uint8Array;
}

export interface AuthorizerOptions {
  host: string;
  repository: string;
  credentials?: Credentials;
  /** Plain-HTTP token realms are only accepted for insecure registries. */
  insecure: boolean;
  /** The client certificate in use: a registry may issue tokens by it, so tokens are kept per TLS identity too. */
  tlsIdentity?: string;
  cache: TokenCache;
  now: () => number;
  /** Sends a token request (with the client's retries, without registry auth). */
  send: (request: TokenRequest, call: Call) => Promise<TransportResponse>;
  onEvent?: EventSink;
}

export interface Authorizer {
  /** The Authorization header to send up front, when a previous challenge taught us the scheme. */
  headerFor(action: Action, call: Call): Promise<string | undefined>;
  /** After a 401: a fresh header to retry with, or undefined when we have no way to authenticate. */
  /**
   * `sentAuthorization`: whether the refused request carried our credentials. A Basic challenge is answered once
   * per request that went without them, even when a concurrent request already learned it (default true).
   */
  answer(
    wwwAuthenticate: string | undefined,
    action: Action,
    call: Call,
    sentAuthorization?: boolean,
  ): Promise<string | undefined>;
}

const MAX_TOKEN_RESPONSE = 1024 * 1024;
const DEFAULT_EXPIRES_IN = 60;

export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const { credentials, cache, host } = options;
  const identity = `${credentialsIdentity(credentials)}|${options.tlsIdentity ?? 'default'}`;
  const scopeFor = (action: Action): string =>
    `repository:${options.repository}:${action === 'push' ? 'pull,push' : 'pull'}`;

  const bearer = async (challenge: Challenge, action: Action, call: Call, fresh: boolean): Promise<string> => {
    const scope = scopeFor(action);
    const key = [host, challenge.params.realm, challenge.params.service, scope, identity].join('|');
    if (fresh) cache.delete(key);
    const cached = cache.get(key, options.now());
    if (cached !== undefined) {
      emit(options.onEvent, { type: 'token', registry: host, outcome: 'cached' });
      return cached;
    }
    return cache.shareFetch(key, async () => {
      const { token, expiresIn } = await fetchToken(options, challenge, scope, call).catch((error: unknown) => {
        // A realm that failed or hung must not stick: the next request asks the registry for a fresh challenge.
        cache.forgetChallenge(host);
        throw error;
      });
      const header = `Bearer ${token}`;
      cache.set(key, header, tokenExpiry(options.now(), expiresIn));
      emit(options.onEvent, { type: 'token', registry: host, outcome: 'fetched' });
      return header;
    });
  };

  const forChallenge = async (
    challenge: Challenge | undefined,
    action: Action,
    call: Call,
    fresh: boolean,
  ): Promise<string | undefined> => {
    if (credentials?.registryToken) return fresh ? undefined : `Bearer ${credentials.registryToken}`;
    if (challenge?.scheme === 'bearer') return bearer(challenge, action, call, fresh);
    if (challenge?.scheme === 'basic' && credentials?.username !== undefined && credentials.password !== undefined) {
      return fresh ? undefined : basicHeader(credentials);
    }
    return undefined;
  };

  return {
    headerFor: (action, call) => {
      if (credentials?.registryToken) return Promise.resolve(`Bearer ${credentials.registryToken}`);
      return forChallenge(cache.challengeFor(host), action, call, false);
    },
    answer: async (wwwAuthenticate, action, call, sentAuthorization = true) => {
      const challenges = parseWwwAuthenticate(wwwAuthenticate ?? '');
      const challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
      if (!challenge) return undefined;
      const known = cache.challengeFor(host);
      cache.rememberChallenge(host, challenge);
      // A basic challenge we had not answered yet, or a request that went without credentials (a concurrent one
      // may have learned the challenge meanwhile), deserves one try with our credentials.
      const fresh = known?.scheme === challenge.scheme && sentAuthorization;
      return forChallenge(challenge, action, call, challenge.scheme === 'bearer' || fresh);
    },
  };
}

function basicHeader(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username ?? ''}:${credentials.password ?? ''}`).toString('base64')}`;
}

async function fetchToken(
  options: AuthorizerOptions,
  challenge: Challenge,
  scope: string,
  call: Call,
): Promise<{ token: string; expiresIn: number }> {
  const realm = realmUrl(challenge, options.insecure);
  const service = challenge.params.service;
  const { credentials } = options;
  const request = credentials?.identityToken
    ? refreshGrant(realm, service, scope, credentials.identityToken)
    : getGrant(realm, service, scope, credentials);
  const response = await options.send(request, call);
  const what = `${request.method} ${redactUrl(realm)}`;
  const body = await readCapped(response, MAX_TOKEN_RESPONSE, { what, signal: call.signal });
  if (response.status < 200 || response.status >= 300)
    emitResponseBody(options.onEvent, options.host, request.method, realm, response.status, body);
  if (response.status === 401 || response.status === 403) {
    throw new PinwardenError(
      'PW_REGISTRY_AUTH',
      `${what}: the token service refused the credentials (${response.status})`,
      { details: { status: response.status } },
    );
  }
  if (response.status < 200 || response.status >= 300) throw statusError(request.method, realm, response.status, body);
  return parseTokenResponse(body, what);
}

function realmUrl(challenge: Challenge, insecure: boolean): URL {
  const realm = challenge.params.realm ?? '';
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new PinwardenError('PW_REGISTRY_PROTOCOL', 'the registry sent a Bearer challenge without a valid realm URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && insecure)) {
    throw new PinwardenError(
      'PW_REGISTRY_PROTOCOL',
      `token realm ${redactUrl(url)} must use https (plain http only for insecure registries)`,
    );
  }
  return url;
}

function getGrant(
  realm: URL,
  service: string | undefined,
  scope: string,
  credentials: Credentials | undefined,
): TokenRequest {
  const url = new URL(realm);
  if (service !== undefined) url.searchParams.set('service', service);
  url.searchParams.set('scope', scope);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (credentials?.username !== undefined && credentials.password !== undefined) {
    url.searchParams.set('account', credentials.username);
    headers.authorization = basicHeader(credentials);
  }
  return { method: 'GET', url, headers };
}

function refreshGrant(realm: URL, service: string | undefined, scope: string, refreshToken: string): TokenRequest {
  const form = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: 'pinwarden',
    scope,
  });
  if (service !== undefined) form.set('service', service);
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  return { method: 'POST', url: realm, headers, body: new TextEncoder().encode(form.toString()) };
}

/** `token` or `access_token` (the OAuth2 form), `expires_in` defaulting to 60 s per the token spec. */
function parseTokenResponse(body: Uint8Array, what: string): { token: string; expiresIn: number } {
  let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    parsed = JSON.parse(new TextDecoder().decode(body)) as typeof parsed;
  } catch {
    throw new PinwardenError('PW_REGISTRY_PROTOCOL', `${what}: the token response is not JSON`);
  }
  const token = typeof parsed.token === 'string' && parsed.token !== '' ? parsed.token : parsed.access_token;
  if (typeof token !== 'string' || token === '')
    throw new PinwardenError('PW_REGISTRY_PROTOCOL', `${what}: the token response holds no token`);
  const expiresIn =
    typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : DEFAULT_EXPIRES_IN;
  return { token, expiresIn };
}
