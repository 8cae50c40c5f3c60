/**
 * Registry access for one OCIRepository, built the way source-controller builds it: credentials from
 * `spec.secretRef` (a dockerconfigjson Secret in the object's namespace), then from the image pull secrets
 * of `spec.serviceAccountName` (first Secret with an entry for the registry wins, as go-containerregistry's
 * k8schain does); TLS from `spec.certSecretRef` (`ca.crt`/`tls.crt`/`tls.key`, or the deprecated
 * `caFile`/`certFile`/`keyFile`). A referenced Secret or ServiceAccount that is missing is an error, as in
 * Flux. The CLI variant uses the local docker config instead (there is no cluster to read from).
 */
import { PinwardenError } from '../core/errors.ts';
import type { OciRepositoryView } from '../core/flux/index.ts';
import type { KubeSecret, SecretReader } from '../kube/index.ts';
import { credentialsFromDockerConfig, tlsFromSecretData } from '../oci/index.ts';
import type { Call, Credentials, TlsOptions } from '../oci/index.ts';

export interface RegistryAccess {
  credentials?: Credentials;
  tls?: TlsOptions;
  /** Plain HTTP (and unverified TLS without a CA) for every registry: only the CLI user's own `--insecure`. */
  insecure?: boolean;
}

export interface AccessRequest {
  namespace: string;
  view: OciRepositoryView;
  /** Canonical registry name (`index.docker.io` for Docker Hub), as dockerconfigjson keys name it. */
  registry: string;
}

/** Builds access for one object; throws PinwardenError (input: missing Secret; unavailable/internal: API). */
export type AccessProvider = (request: AccessRequest, call: Call) => Promise<RegistryAccess>;

export function clusterAccess(secrets: SecretReader): AccessProvider {
  return async ({ namespace, view, registry }, call) => {
    const credentials = await clusterCredentials(secrets, namespace, view, registry, call);
    const tls =
      view.certSecretName === undefined
        ? undefined
        : tlsFromSecret(await requireSecret(secrets, namespace, view.certSecretName, 'spec.certSecretRef', call));
    return { ...(credentials ? { credentials } : {}), ...(tls ? { tls } : {}) };
  };
}

/**
 * `check --resolve`: the developer's own docker login (`$DOCKER_CONFIG/config.json`, parsed by the caller) and
 * registry flags (`--ca-file`, client certificate, `--insecure`), the same for every registry.
 */
export function localAccess(
  dockerConfig: object | undefined,
  settings: { tls?: TlsOptions; insecure?: boolean } = {},
): AccessProvider {
  return async ({ registry }) => {
    const credentials = dockerConfig === undefined ? undefined : credentialsFromDockerConfig(dockerConfig, registry);
    return {
      ...(credentials ? { credentials } : {}),
      ...(settings.tls ? { tls: settings.tls } : {}),
      ...(settings.insecure === true ? { insecure: true } : {}),
    };
  };
}

async function clusterCredentials(
  secrets: SecretReader,
  namespace: string,
  view: OciRepositoryView,
  registry: string,
  call: Call,
): Promise<Credentials | undefined> {
  const names: Array<{ name: string; field: string }> = [];
  if (view.secretName !== undefined) names.push({ name: view.secretName, field: 'spec.secretRef' });
  if (view.serviceAccountName !== undefined) {
    const account = await secrets.getServiceAccount(namespace, view.serviceAccountName, call.signal);
    if (!account)
      throw new PinwardenError(
        'PW_INPUT_INVALID',
        `spec.serviceAccountName: ServiceAccount ${namespace}/${view.serviceAccountName} not found`,
        { details: { path: 'spec.serviceAccountName' } },
      );
    names.push(
      ...account.imagePullSecrets.map((name) => ({
        name,
        field: `imagePullSecrets of ServiceAccount ${view.serviceAccountName}`,
      })),
    );
  }
  for (const { name, field } of names) {
    const secret = await requireSecret(secrets, namespace, name, field, call);
    const credentials = credentialsFromSecret(secret, registry, `${namespace}/${name}`);
    if (credentials) return credentials;
  }
  return undefined;
}

async function requireSecret(
  secrets: SecretReader,
  namespace: string,
  name: string,
  field: string,
  call: Call,
): Promise<KubeSecret> {
  const secret = await secrets.getSecret(namespace, name, call.signal);
  if (!secret)
    throw new PinwardenError('PW_INPUT_INVALID', `${field}: Secret ${namespace}/${name} not found`, {
      details: { path: field },
    });
  return secret;
}

/** `.dockerconfigjson` (`{auths: …}`), or the legacy `.dockercfg` (the `auths` map itself). */
function credentialsFromSecret(secret: KubeSecret, registry: string, label: string): Credentials | undefined {
  const modern = secret.data['.dockerconfigjson'];
  const legacy = secret.data['.dockercfg'];
  try {
    if (modern !== undefined) return credentialsFromDockerConfig(new TextDecoder().decode(modern), registry);
    if (legacy !== undefined)
      return credentialsFromDockerConfig(`{"auths":${new TextDecoder().decode(legacy)}}`, registry);
  } catch (error) {
    // The message of credentialsFromDockerConfig never quotes the document; add which Secret it was.
    const why = error instanceof PinwardenError ? error.message : 'not valid JSON';
    throw new PinwardenError('PW_INPUT_INVALID', `Secret ${label}: ${why}`);
  }
  return undefined;
}

function tlsFromSecret(secret: KubeSecret): TlsOptions | undefined {
  const tls = tlsFromSecretData(secret.data);
  return tls.ca === undefined && tls.cert === undefined ? undefined : tls;
}
