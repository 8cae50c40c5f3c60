/**
 * `SecretReader` over @kubernetes/client-node: in-cluster service account, `--kubeconfig FILE`, or the
 * default kubeconfig lookup. Every read carries a deadline (its own, and the caller's signal when given).
 * Errors name the object and the HTTP status only: an ApiException body is never copied into a message.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { ConfigurationOptions, RequestContext, ResponseContext } from '@kubernetes/client-node';
import { PinwardenError } from '../core/errors.ts';
import type { KubeSecret, KubeServiceAccount, SecretReader } from './secret-reader.ts';

export interface KubeSecretReaderOptions {
  /** A kubeconfig file; default: in-cluster when running in a pod, else $KUBECONFIG / ~/.kube/config. */
  kubeconfig?: string;
  /** Per-read deadline in ms (default 2000). */
  timeoutMs?: number;
}

export function createKubeSecretReader(options: KubeSecretReaderOptions = {}): SecretReader {
  let api: CoreV1Api | undefined;
  // Built on first use: `serve` must start on a laptop without any cluster.
  const client = (): CoreV1Api => (api ??= loadConfig(options.kubeconfig).makeApiClient(CoreV1Api));
  const timeoutMs = options.timeoutMs ?? 2000;

  return {
    async getSecret(namespace, name, signal) {
      const secret = await read(`Secret ${namespace}/${name}`, timeoutMs, signal, (opts) => client().readNamespacedSecret({ namespace, name }, opts));
      return secret === undefined ? undefined : decodeSecret(secret.type, secret.data);
    },
    async getServiceAccount(namespace, name, signal) {
      const account = await read(`ServiceAccount ${namespace}/${name}`, timeoutMs, signal, (opts) => client().readNamespacedServiceAccount({ namespace, name }, opts));
      if (account === undefined) return undefined;
      const names = (account.imagePullSecrets ?? []).map((ref) => ref.name).filter((value): value is string => typeof value === 'string' && value !== '');
      return { imagePullSecrets: names } satisfies KubeServiceAccount;
    },
  };
}

export function loadConfig(file: string | undefined): KubeConfig {
  const config = new KubeConfig();
  try {
    if (file !== undefined) config.loadFromFile(file);
    else config.loadFromDefault();
  } catch (error) {
    throw new PinwardenError('PW_INPUT_INVALID', `kubeconfig ${file ?? '(default)'} could not be loaded: ${firstLine(error)}`, { cause: error });
  }
  return config;
}

export async function read<T>(what: string, timeoutMs: number, outer: AbortSignal | undefined, call: (options: ConfigurationOptions) => Promise<T>): Promise<T | undefined> {
  const signal = outer ? AbortSignal.any([outer, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  // The object-param API runs "observable" middleware: anything with toPromise() (client-node's rxjs stub).
  const middleware = {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      return { toPromise: () => Promise.resolve(context) };
    },
    post: (context: ResponseContext) => ({ toPromise: () => Promise.resolve(context) }),
  };
  try {
    return await call({ middleware: [middleware], middlewareMergeStrategy: 'append' } as unknown as ConfigurationOptions);
  } catch (error) {
    if (error instanceof PinwardenError) throw error;
    const status = (error as { code?: unknown }).code;
    if (status === 404) return undefined;
    if (signal.aborted) throw new PinwardenError('PW_DEADLINE', `reading ${what}: Kubernetes API deadline exceeded`, { cause: error });
    // An ApiException carries the API's response body: only its status code goes into the message.
    const why = typeof status === 'number'
      ? `Kubernetes API answered ${status}${status === 403 ? ' (pinwarden needs RBAC get on it)' : ''}`
      : `Kubernetes API unreachable: ${firstLine(error).slice(0, 200)}`;
    throw new PinwardenError('PW_KUBE_API', `reading ${what}: ${why}`, { details: typeof status === 'number' ? { status } : {} });
  }
}

function decodeSecret(type: string | undefined, data: Record<string, string> | undefined): KubeSecret {
  const decoded: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(data ?? {})) decoded[key] = Buffer.from(value, 'base64');
  return { type: type ?? '', data: decoded };
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}
