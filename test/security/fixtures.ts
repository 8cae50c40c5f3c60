/**
 * Shared set-up for the attack tests: the tenant's registry listens on 127.0.0.2 (the only address the test
 * policy allows), "internal services" on 127.0.0.1 (loopback, denied like a cluster's metadata endpoint or
 * an in-cluster API would be). Both are ordinary loopback servers on random ports; Linux routes all of
 * 127/8 to `lo`, so no real network is touched. The webhook is the real one (fastify `inject`) over the real
 * flows and OCI client; only Secrets come from memory.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createMemorySecretReader } from '../../src/kube/index.ts';
import type { MemorySecrets } from '../../src/kube/index.ts';
import { clusterAccess, createPinResolver } from '../../src/flows/index.ts';
import type { PinResolver } from '../../src/flows/index.ts';
import type { RegistryEvent } from '../../src/oci/index.ts';
import { startHarness } from '../integration/webhook/harness.ts';
import type { Harness } from '../integration/webhook/harness.ts';
import { json, sha256 } from '../helpers/fake-registry.ts';
import { closeServer } from '../helpers/close-server.ts';

export const TENANT_ADDRESS = '127.0.0.2';
export const INTERNAL_ADDRESS = '127.0.0.1';
/** What an internal service would never want a tenant to read. */
export const SECRET = 'INTERNAL-SECRET-d41d8cd98f00';
/** The tenant registry's address is allowed; everything else on loopback is internal. */
export const TENANT_POLICY =
  'ociRepository: {allowInsecure: true}\nregistry: {timeoutSeconds: 2, allowNetworks: ["127.0.0.2/32"]}';

export interface InternalService {
  host: string;
  port: number;
  requests: Array<{ method: string; url: string; authorization?: string }>;
  stop(): Promise<void>;
}

/** A loopback service that answers every request with the secret (a metadata endpoint, an internal API). */
export async function startInternalService(tls?: { cert: string; key: string }): Promise<InternalService> {
  const requests: InternalService['requests'] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    req.resume();
    const body = JSON.stringify({ access_token: SECRET, token: SECRET, errors: [{ code: 'DENIED', message: SECRET }] });
    res
      .writeHead(200, {
        'content-type': 'application/vnd.oci.image.manifest.v1+json',
        'docker-content-digest': sha256(Buffer.from(body)),
      })
      .end(body);
  };
  const server = tls ? createTlsServer({ cert: tls.cert, key: tls.key }, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, INTERNAL_ADDRESS, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `${INTERNAL_ADDRESS}:${port}`,
    port,
    requests,
    stop: () => closeServer(server),
  };
}

/** A well-formed OCI image manifest (its config digest need not exist: only the manifest is resolved). */
export function manifestBytes(label: string): Uint8Array {
  const config = json({ label });
  return json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.byteLength },
    layers: [],
  });
}

export interface Webhook {
  h: Harness;
  pins: PinResolver;
  events: RegistryEvent[];
}

/** The webhook with the real pin resolver (guarded, as `serve` builds it). Close `pins` after the test. */
export function webhook(policy: string, secrets: MemorySecrets = {}): Webhook {
  const events: RegistryEvent[] = [];
  const pins = createPinResolver({
    access: clusterAccess(createMemorySecretReader(secrets)),
    onEvent: (event) => events.push(event),
    repositoryOptions: { retry: { baseDelayMs: 10, maxDelayMs: 20 } },
  });
  return { h: startHarness({ policy, pins }), pins, events };
}
