/**
 * A small dynamic client for any kind (the apply engine's only door to the Kubernetes API): discovery
 * of a kind's resource name and scope, GET, server-side apply (with dry-run), JSON patch, DELETE.
 * Requests go over node:https with the KubeConfig's credentials (client-node's `applyToHTTPSOptions`),
 * each with a deadline, a capped response body, and optional impersonation (`Impersonate-User` and
 * `Impersonate-Group`), which is how a Kustomization's `serviceAccountName` is honoured.
 *
 * A refusal becomes a `KubeApiError` carrying the apiserver's HTTP status, `Status.reason` and
 * `Status.message` (capped). Bearer tokens and client keys never enter a message.
 */
import { Agent, request } from 'node:https';
import type { RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { PinwardenError } from '../core/errors.ts';

export type Scope = 'Namespaced' | 'Cluster';

export interface KubeObjectBody {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface ApplyOptions {
  fieldManager: string;
  dryRun?: boolean;
  /** Take over fields other managers own (`force=true`), as Flux's apply does. */
  force?: boolean;
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

export interface ObjectClient {
  /** The scope of a kind, or `undefined` when the apiserver does not serve it (yet). */
  scope(apiVersion: string, kind: string): Promise<Scope | undefined>;
  get(ref: ObjectRef): Promise<KubeObjectBody | undefined>;
  apply(object: KubeObjectBody, options: ApplyOptions): Promise<KubeObjectBody>;
  jsonPatch(ref: ObjectRef, ops: JsonPatchOp[]): Promise<KubeObjectBody>;
  /** `false` when the object was already gone. Background propagation. */
  delete(ref: ObjectRef): Promise<boolean>;
  /** Server-side apply of the status subresource (for the controller's status writer and tests). */
  applyStatus(object: KubeObjectBody, options: ApplyOptions): Promise<KubeObjectBody>;
}

export interface ObjectClientOptions {
  /** Deadline per request in ms (default 10 s). */
  timeoutMs?: number;
  /** Act as this user (a ServiceAccount is `system:serviceaccount:<ns>:<name>`). */
  impersonate?: { user: string; groups?: string[] };
  /** Discovery answers are kept this long (default 30 s); a miss re-reads once. */
  discoveryTtlMs?: number;
  /** Response bodies larger than this are refused (default 32 MiB). */
  maxResponseBytes?: number;
}

export class KubeApiError extends PinwardenError {
  /** The apiserver's HTTP status. */
  readonly httpStatus: number;
  /** `Status.reason`, e.g. `Invalid`, `Forbidden`, `Conflict`, `NotFound`. */
  readonly apiReason: string;
  /** `Status.message`, capped at 1 KiB. */
  readonly apiMessage: string;

  constructor(what: string, status: number, reason: string, apiMessage: string) {
    super('PW_KUBE_API', `${what}: ${apiMessage === '' ? `Kubernetes API answered ${status}` : apiMessage}`, {
      details: { status, reason },
    });
    this.httpStatus = status;
    this.apiReason = reason;
    this.apiMessage = apiMessage;
  }
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

export function createObjectClient(config: KubeConfig, options: ObjectClientOptions = {}): ObjectClient {
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new PinwardenError('PW_INPUT_INVALID', 'the kubeconfig has no current cluster');
  const server = new URL(cluster.server);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxResponseBytes ?? 32 * 1024 * 1024;
  const ttl = options.discoveryTtlMs ?? 30_000;
  const discovery = new Map<string, { at: number; resources: ApiResource[] | undefined }>();
  // One keep-alive agent per client (a reconcile makes ~3 requests per object), built from the first request's TLS
  // options; idle sockets close after 15 s, so a short-lived (impersonating) client leaves nothing open.
  let agent: Agent | undefined;

  const call = async (
    method: string,
    path: string,
    what: string,
    body?: { type: string; data: string },
  ): Promise<{ status: number; json: unknown }> => {
    const opts: RequestOptions = {
      method,
      protocol: server.protocol,
      hostname: server.hostname.replace(/^\[|\]$/g, ''),
      port: server.port === '' ? undefined : Number(server.port),
      path: server.pathname.replace(/\/$/, '') + path,
      headers: { Accept: 'application/json' },
    };
    // Credentials may come from an exec plugin (a child process): it gets the request's deadline too.
    let credentialTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      config.applyToHTTPSOptions(opts),
      new Promise<never>((_, reject) => {
        credentialTimer = setTimeout(
          () =>
            reject(
              new PinwardenError('PW_DEADLINE', `${what}: no credentials from the kubeconfig within ${timeoutMs} ms`),
            ),
          timeoutMs,
        );
      }),
    ])
      .catch((error: unknown) => {
        // A plugin's own message may quote its output: only that it failed is said.
        throw error instanceof PinwardenError
          ? error
          : new PinwardenError('PW_KUBE_API', `${what}: the kubeconfig's credentials could not be obtained`, {
              cause: error,
            });
      })
      .finally(() => clearTimeout(credentialTimer));
    const headers: Record<string, string | string[]> = {
      ...(opts.headers as Record<string, string>),
      Accept: 'application/json',
    };
    if (options.impersonate !== undefined) {
      headers['Impersonate-User'] = options.impersonate.user;
      if (options.impersonate.groups !== undefined && options.impersonate.groups.length > 0)
        headers['Impersonate-Group'] = options.impersonate.groups;
    }
    if (body !== undefined) {
      headers['Content-Type'] = body.type;
      headers['Content-Length'] = String(Buffer.byteLength(body.data));
    }
    opts.headers = headers;
    opts.timeout = timeoutMs;
    if (server.protocol === 'https:') {
      agent ??= new Agent({
        keepAlive: true,
        maxSockets: 8,
        timeout: 15_000,
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        ...(opts.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: opts.rejectUnauthorized }),
        ...(opts.servername === undefined ? {} : { servername: opts.servername }),
      });
      opts.agent = agent;
    }
    const send = server.protocol === 'http:' ? httpRequest : request;
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          req.destroy(
            new PinwardenError('PW_DEADLINE', `${what}: Kubernetes API deadline of ${timeoutMs} ms exceeded`),
          ),
        timeoutMs,
      );
      const req = send(opts, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy(
              new PinwardenError('PW_KUBE_API', `${what}: the Kubernetes API answer is over ${maxBytes} bytes`),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
      req.on('timeout', () =>
        req.destroy(new PinwardenError('PW_DEADLINE', `${what}: Kubernetes API deadline of ${timeoutMs} ms exceeded`)),
      );
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(
          error instanceof PinwardenError
            ? error
            : new PinwardenError(
                'PW_KUBE_API',
                `${what}: Kubernetes API unreachable: ${error.message.split('\n')[0]?.slice(0, 200)}`,
              ),
        );
      });
      req.end(body?.data);
    });
  };

  const fail = (what: string, status: number, json: unknown): KubeApiError => {
    const record = (json ?? {}) as { reason?: unknown; message?: unknown };
    const reason = typeof record.reason === 'string' ? record.reason : '';
    const message = typeof record.message === 'string' ? record.message.slice(0, 1024) : '';
    return new KubeApiError(what, status, reason, message);
  };

  const resources = async (apiVersion: string, fresh: boolean): Promise<ApiResource[] | undefined> => {
    const cached = discovery.get(apiVersion);
    if (cached !== undefined && !fresh && Date.now() - cached.at < ttl) return cached.resources;
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const { status, json } = await call('GET', path, `discovery of ${apiVersion}`);
    let found: ApiResource[] | undefined;
    if (status === 404) found = undefined;
    else if (status !== 200) throw fail(`discovery of ${apiVersion}`, status, json);
    else {
      const list = ((json as { resources?: unknown }).resources ?? []) as Array<Partial<ApiResource>>;
      found = list
        .filter(
          (item): item is ApiResource =>
            typeof item.name === 'string' && !item.name.includes('/') && typeof item.kind === 'string',
        )
        .map((item) => ({ name: item.name, kind: item.kind, namespaced: item.namespaced === true }));
    }
    discovery.set(apiVersion, { at: Date.now(), resources: found });
    return found;
  };

  const resourceFor = async (apiVersion: string, kind: string): Promise<ApiResource | undefined> => {
    const find = (list: ApiResource[] | undefined): ApiResource | undefined => list?.find((item) => item.kind === kind);
    const hit = find(await resources(apiVersion, false));
    if (hit !== undefined) return hit;
    // A kind just installed (a CRD of the same apply) is not in an older answer: read once more.
    const cached = discovery.get(apiVersion);
    if (cached !== undefined && Date.now() - cached.at < 250) return undefined;
    return find(await resources(apiVersion, true));
  };

  const pathFor = async (ref: ObjectRef, withName: boolean): Promise<{ path: string; scope: Scope }> => {
    const resource = await resourceFor(ref.apiVersion, ref.kind);
    if (resource === undefined) {
      throw new KubeApiError(
        `${ref.kind}/${ref.name}`,
        404,
        'NotFound',
        `no matches for kind "${ref.kind}" in version "${ref.apiVersion}"`,
      );
    }
    const prefix = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    const ns = resource.namespaced ? `/namespaces/${encodeURIComponent(ref.namespace ?? '')}` : '';
    if (resource.namespaced && (ref.namespace === undefined || ref.namespace === '')) {
      // What the apiserver answers for a namespaced kind at a cluster path (Flux reports it as `namespace not specified`).
      throw new KubeApiError(
        `${ref.kind}/${ref.name}`,
        404,
        'NotFound',
        'the server could not find the requested resource',
      );
    }
    return {
      path: `${prefix}${ns}/${resource.name}${withName ? `/${encodeURIComponent(ref.name)}` : ''}`,
      scope: resource.namespaced ? 'Namespaced' : 'Cluster',
    };
  };

  const refOf = (object: KubeObjectBody): ObjectRef => ({
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: object.metadata.namespace,
    name: object.metadata.name ?? '',
  });
  const label = (ref: ObjectRef): string =>
    ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;

  const doApply = async (
    object: KubeObjectBody,
    applyOptions: ApplyOptions,
    subresource: string,
  ): Promise<KubeObjectBody> => {
    const ref = refOf(object);
    const { path, scope } = await pathFor(ref, true);
    const body =
      scope === 'Cluster' && object.metadata.namespace !== undefined
        ? {
            ...object,
            metadata: Object.fromEntries(Object.entries(object.metadata).filter(([key]) => key !== 'namespace')),
          }
        : object;
    const query = new URLSearchParams({ fieldManager: applyOptions.fieldManager });
    if (applyOptions.force === true) query.set('force', 'true');
    if (applyOptions.dryRun === true) query.set('dryRun', 'All');
    const what = `${applyOptions.dryRun === true ? 'dry-run apply' : 'apply'} of ${label(ref)}`;
    const { status, json } = await call('PATCH', `${path}${subresource}?${query.toString()}`, what, {
      type: 'application/apply-patch+yaml',
      data: JSON.stringify(body),
    });
    if (status < 200 || status >= 300) throw fail(label(ref), status, json);
    return json as KubeObjectBody;
  };

  return {
    async scope(apiVersion, kind) {
      const resource = await resourceFor(apiVersion, kind);
      return resource === undefined ? undefined : resource.namespaced ? 'Namespaced' : 'Cluster';
    },
    async get(ref) {
      let target: { path: string };
      try {
        target = await pathFor(ref, true);
      } catch (error) {
        if (error instanceof KubeApiError && error.httpStatus === 404) return undefined;
        throw error;
      }
      const { status, json } = await call('GET', target.path, `get ${label(ref)}`);
      if (status === 404) return undefined;
      if (status !== 200) throw fail(label(ref), status, json);
      return json as KubeObjectBody;
    },
    apply: (object, applyOptions) => doApply(object, applyOptions, ''),
    applyStatus: (object, applyOptions) => doApply(object, applyOptions, '/status'),
    async jsonPatch(ref, ops) {
      const { path } = await pathFor(ref, true);
      const { status, json } = await call('PATCH', path, `patch of ${label(ref)}`, {
        type: 'application/json-patch+json',
        data: JSON.stringify(ops),
      });
      if (status < 200 || status >= 300) throw fail(label(ref), status, json);
      return json as KubeObjectBody;
    },
    async delete(ref) {
      let target: { path: string };
      try {
        target = await pathFor(ref, true);
      } catch (error) {
        if (error instanceof KubeApiError && error.httpStatus === 404) return false;
        throw error;
      }
      const { status, json } = await call('DELETE', target.path, `delete of ${label(ref)}`, {
        type: 'application/json',
        data: JSON.stringify({ propagationPolicy: 'Background' }),
      });
      if (status === 404) return false;
      if (status < 200 || status >= 300) throw fail(label(ref), status, json);
      return true;
    },
  };
}

/** The user name the apiserver gives a ServiceAccount (what Flux impersonates for `serviceAccountName`). */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

export interface ObjectClients {
  /** As the controller itself. */
  client: ObjectClient;
  /** Impersonating a ServiceAccount (`undefined`: the controller's own client). Kept in a small LRU. */
  clientFor(serviceAccount: { namespace: string; name: string } | undefined): ObjectClient;
}

/** The controller's client and its impersonating clients, built from one KubeConfig (at most `max` kept). */
export function createObjectClients(
  config: KubeConfig,
  options: Omit<ObjectClientOptions, 'impersonate'> & { max?: number } = {},
): ObjectClients {
  const client = createObjectClient(config, options);
  const max = options.max ?? 256;
  const cache = new Map<string, ObjectClient>();
  return {
    client,
    clientFor(serviceAccount) {
      if (serviceAccount === undefined) return client;
      const user = serviceAccountUser(serviceAccount.namespace, serviceAccount.name);
      let found = cache.get(user);
      if (found !== undefined) {
        cache.delete(user);
      } else {
        found = createObjectClient(config, { ...options, impersonate: { user } });
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
      }
      cache.set(user, found);
      return found;
    },
  };
}
