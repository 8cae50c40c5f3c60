/**
 * The one Kubernetes connection of a process: a `KubeConfig` built once, on first use (so `serve` starts on a
 * laptop without a cluster), from `--kubeconfig FILE` or the default lookup ($KUBECONFIG, ~/.kube/config, then
 * the in-cluster service account), shared by every adapter of this room. `readObject` is the one way an
 * adapter reads: a deadline on every call (its own, and the caller's signal), 404 as undefined, and errors
 * that name the object and the HTTP status only (an ApiException body is never copied into a message).
 */
import { KubeConfig } from '@kubernetes/client-node';
import type {
  ApiConstructor,
  ApiType,
  ConfigurationOptions,
  RequestContext,
  ResponseContext,
} from '@kubernetes/client-node';
import { PinwardenError } from '../core/errors.ts';

export interface KubeConnectionOptions {
  /** A kubeconfig file; default: $KUBECONFIG, ~/.kube/config, then in-cluster when running in a pod. */
  kubeconfig?: string;
  /** Per-read deadline in ms (default 2000). */
  timeoutMs?: number;
}

export interface KubeConnection {
  /** Loaded on first call; throws PW_INPUT_INVALID when the kubeconfig cannot be loaded. */
  config(): KubeConfig;
  /** One client per API class, made from `config()`. */
  api<T extends ApiType>(type: ApiConstructor<T>): T;
  readonly timeoutMs: number;
}

export function createKubeConnection(options: KubeConnectionOptions = {}): KubeConnection {
  let config: KubeConfig | undefined;
  const apis = new Map<ApiConstructor<ApiType>, ApiType>(); // one entry per API class: bounded by the code
  const connection: KubeConnection = {
    config: () => (config ??= loadKubeConfig(options.kubeconfig)),
    api<T extends ApiType>(type: ApiConstructor<T>): T {
      let api = apis.get(type) as T | undefined;
      if (api === undefined) {
        api = connection.config().makeApiClient(type);
        apis.set(type, api);
      }
      return api;
    },
    timeoutMs: options.timeoutMs ?? 2000,
  };
  return connection;
}

export function loadKubeConfig(file: string | undefined): KubeConfig {
  const config = new KubeConfig();
  try {
    if (file !== undefined) config.loadFromFile(file);
    else config.loadFromDefault();
  } catch (error) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `kubeconfig ${file ?? '(default)'} could not be loaded: ${firstLine(error)}`,
      { cause: error },
    );
  }
  return config;
}

/** Runs one API read under the connection's deadline; undefined on 404. */
export async function readObject<T>(
  connection: KubeConnection,
  what: string,
  outer: AbortSignal | undefined,
  call: (options: ConfigurationOptions) => Promise<T>,
): Promise<T | undefined> {
  const deadline = AbortSignal.timeout(connection.timeoutMs);
  const signal = outer ? AbortSignal.any([outer, deadline]) : deadline;
  // The object-param API runs "observable" middleware: anything with toPromise() (client-node's rxjs stub).
  const middleware = {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      return { toPromise: () => Promise.resolve(context) };
    },
    post: (context: ResponseContext) => ({ toPromise: () => Promise.resolve(context) }),
  };
  try {
    return await call({
      middleware: [middleware],
      middlewareMergeStrategy: 'append',
    } as unknown as ConfigurationOptions);
  } catch (error) {
    if (error instanceof PinwardenError) throw error;
    const status = (error as { code?: unknown }).code;
    if (status === 404) return undefined;
    if (signal.aborted)
      throw new PinwardenError('PW_DEADLINE', `reading ${what}: Kubernetes API deadline exceeded`, { cause: error });
    // An ApiException carries the API's response body: only its status code goes into the message.
    const why =
      typeof status === 'number'
        ? `Kubernetes API answered ${status}${status === 403 ? ' (pinwarden needs RBAC get on it)' : ''}`
        : `Kubernetes API unreachable${networkCode(error)}`;
    throw new PinwardenError('PW_KUBE_API', `reading ${what}: ${why}`, {
      cause: error,
      details: typeof status === 'number' ? { status } : {},
    });
  }
}

/** ` (ECONNREFUSED)`: the errno-style code of a network failure, never the library's message. */
function networkCode(error: unknown): string {
  for (let at: unknown = error, depth = 0; at instanceof Error && depth < 4; at = at.cause, depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]{2,30}$/.test(code)) return ` (${code})`;
  }
  return '';
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}
