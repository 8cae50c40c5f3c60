/**
 * A loopback token server for the registry's `auth.token` mode (Docker token spec,
 * https://distribution.github.io/distribution/spec/auth/token/). It signs ES256 JWTs whose header carries
 * the signing certificate in `x5c`; the registry (2.8) verifies that chain against its `rootcertbundle`.
 * GET with Basic credentials (or anonymous) and the OAuth2 POST refresh-token grant are supported.
 */
import { randomUUID, sign } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSelfSignedSigner } from './certs.ts';
import type { KeyPairPem } from './certs.ts';
import { closeServer } from './close-server.ts';

export interface TokenServerOptions {
  service: string;
  issuer: string;
  username: string;
  password: string;
  /** The identity (refresh) token accepted by the POST grant. */
  identityToken: string;
  expiresInSeconds: number;
}

export interface TokenRequestRecord {
  method: string;
  scope: string;
  grant: 'basic' | 'anonymous' | 'refresh_token' | 'rejected';
}

export interface TokenServer {
  url: string;
  signerCertPem: string;
  requests: TokenRequestRecord[];
  close(): Promise<void>;
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const signer = await createSelfSignedSigner('pinwarden test token signer');
  const requests: TokenRequestRecord[] = [];
  const server = createServer((req, res) => {
    void handle(req, res, options, signer, requests);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/token`,
    signerCertPem: signer.certPem,
    requests,
    close: () => closeServer(server),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: TokenServerOptions,
  signer: KeyPairPem,
  requests: TokenRequestRecord[],
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://token.local');
  const form = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
  const scope = form.get('scope') ?? '';
  const grant = grantFor(req, form, options);
  requests.push({ method: req.method ?? '', scope, grant });
  if (grant === 'rejected') {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"wrong credentials"}');
    return;
  }
  const access = grant === 'anonymous' ? [] : accessFor(scope);
  const token = signJwt(signer, {
    iss: options.issuer,
    sub: grant === 'anonymous' ? '' : options.username,
    aud: form.get('service') ?? options.service,
    exp: Math.floor(Date.now() / 1000) + options.expiresInSeconds,
    nbf: Math.floor(Date.now() / 1000) - 10,
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    access,
  });
  const field = req.method === 'POST' ? 'access_token' : 'token';
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({ [field]: token, expires_in: options.expiresInSeconds, issued_at: new Date().toISOString() }),
  );
}

function grantFor(
  req: IncomingMessage,
  form: URLSearchParams,
  options: TokenServerOptions,
): TokenRequestRecord['grant'] {
  if (req.method === 'POST') {
    const ok = form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === options.identityToken;
    return ok ? 'refresh_token' : 'rejected';
  }
  const header = req.headers.authorization;
  if (header === undefined) return 'anonymous';
  const expected = Buffer.from(`${options.username}:${options.password}`).toString('base64');
  return header === `Basic ${expected}` ? 'basic' : 'rejected';
}

/** `repository:<name>:<actions>` scopes, space-separated; every requested action is granted. */
function accessFor(scope: string): { type: string; name: string; actions: string[] }[] {
  return scope
    .split(' ')
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const parts = entry.split(':');
      const actions = (parts.pop() ?? '').split(',');
      const [type = '', ...name] = parts;
      return { type, name: name.join(':'), actions };
    });
}

function signJwt(signer: KeyPairPem, claims: object): string {
  const header = { typ: 'JWT', alg: 'ES256', x5c: [signer.certDerBase64] };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key: signer.keyPem, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
