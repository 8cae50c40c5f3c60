/**
 * The servers `bench/webhook.ts` puts under load, each started in its own process: the real webhook
 * (`buildServer` with real flows, metrics and JSON logs to /dev/null) and the baseline, a bare fastify HTTPS
 * JSON echo with the same certificate. Also the review bodies both are fed. Not a benchmark by itself.
 */
import { readFileSync } from 'node:fs';
import { fastify } from 'fastify';
import type { FastifyInstance } from 'fastify';
import { HttpRepository, MEDIA_TYPES, callWithTimeout, parseReference } from '../src/oci/index.ts';
import { loadPolicy } from '../src/core/policy/index.ts';
import { clusterAccess, createPinFailureLog, createPinResolver } from '../src/flows/index.ts';
import { createMemorySecretReader } from '../src/kube/index.ts';
import { createLogger, staticPolicy } from '../src/runtime/index.ts';
import { admissionFlows, buildServer, createWebhookMetrics } from '../src/webhook/index.ts';

const IDENTITY = {
  issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
  subject: '^https://github\\.com/acme/[^/]+/\\.github/workflows/release\\.ya?ml@refs/tags/v',
};
const SUBMITTED = {
  issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
  subject: '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+$',
};

export function benchPolicyText(registryHost: string): string {
  return `apiVersion: pinwarden.dev/v1alpha1
kind: SourcePolicy
metadata: {name: bench}
spec:
  ociRepository:
    allowInsecure: true
    allowedIdentities: [{issuer: '${IDENTITY.issuer}', subject: '${IDENTITY.subject}'}]
    allowedRegistries: ['oci://${registryHost}/bench/']
  registry: {timeoutSeconds: 2, cacheTTLSeconds: 600, allowNetworks: ["127.0.0.0/8", "::1/128"]}
`;
}

function review(object: unknown): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '3f0c1c4e-8d1a-4f7b-9a0e-5b6d7c8e9f01',
      kind: { group: 'source.toolkit.fluxcd.io', version: 'v1', kind: 'OCIRepository' },
      resource: { group: 'source.toolkit.fluxcd.io', version: 'v1', resource: 'ocirepositories' },
      namespace: 'apps',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:flux-system:kustomize-controller',
        groups: ['system:serviceaccounts', 'system:authenticated'],
      },
      object,
      oldObject: null,
      dryRun: true,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kustomize-controller' },
    },
  });
}

function ociRepository(registryHost: string, ref: Record<string, string>): unknown {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'app', namespace: 'apps', labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps' } },
    spec: {
      interval: '5m',
      url: `oci://${registryHost}/bench/app`,
      insecure: true,
      ref,
      verify: { provider: 'cosign', matchOIDCIdentity: [SUBMITTED] },
    },
  };
}

/** A pinned, compliant object: every rule runs (identity containment included) and admits it. */
export function validateReview(registryHost: string): string {
  return review(ociRepository(registryHost, { tag: 'v1', digest: `sha256:${'c'.repeat(64)}` }));
}

export function mutateReview(registryHost: string, tag: string): string {
  return review(ociRepository(registryHost, { tag }));
}

export async function serveForBench(mode: 'webhook' | 'echo', args: Record<string, string>): Promise<number> {
  const https = {
    cert: readFileSync(args.cert ?? ''),
    key: readFileSync(args.key ?? ''),
    minVersion: 'TLSv1.2' as const,
  };
  if (mode === 'echo') {
    const app = fastify({ https, bodyLimit: 3 * 1024 * 1024 });
    app.post('/echo', async (request) => request.body);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.server.address() as { port: number }).port;
  }
  const app = buildBenchWebhook(args.registry ?? '', { cert: https.cert, key: https.key });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as { port: number }).port;
}

/** The real webhook as `serve` builds it (real flows and metrics, JSON logs to /dev/null), not yet listening. */
export function buildBenchWebhook(registryHost: string, https?: { cert: Buffer; key: Buffer }): FastifyInstance {
  // The production logger, writing where stdout would go (its buffering and redaction included).
  const logger = createLogger({ destination: '/dev/null' });
  const metrics = createWebhookMetrics();
  const pins = createPinResolver({
    access: clusterAccess(createMemorySecretReader()),
    onEvent: metrics.onRegistryEvent,
  });
  const flows = admissionFlows({ pins, failures: createPinFailureLog(), now: () => new Date() });
  const policy = loadPolicy(benchPolicyText(registryHost), 'bench');
  return buildServer({ policy: staticPolicy(policy), flows, logger, metrics, ...(https ? { https } : {}) });
}

/** Pushes one empty image manifest under each tag to `oci://HOST/bench/app`. */
export async function pushBenchTags(host: string, tags: readonly string[]): Promise<void> {
  const repo = new HttpRepository(parseReference(`oci://${host}/bench/app`), { insecure: true });
  const call = callWithTimeout(60_000);
  const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
  const config = await repo.pushBlob(
    json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    'application/vnd.oci.image.config.v1+json',
    call,
  );
  const manifest = json({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers: [] });
  for (const tag of tags) await repo.pushManifest(manifest, MEDIA_TYPES.ociManifest, tag, call);
  repo.close();
}
