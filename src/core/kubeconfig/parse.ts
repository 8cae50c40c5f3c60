/**
 * A tenant's kubeconfig (Kustomization `spec.kubeConfig.secretRef`) read and judged without I/O. The bytes come
 * from a Secret a tenant writes, so nothing in them is trusted: the server must be one the operator named
 * (`--remote-cluster HOST[:PORT]`), over https; credentials must be inline (a file path would make the controller
 * read its own files, e.g. its ServiceAccount token, and send them); exec and auth-provider plugins (commands run
 * in the controller's pod) only with `--insecure-kubeconfig-exec`, `insecure-skip-tls-verify` only with
 * `--insecure-kubeconfig-tls`, as Flux's flags of the same names. Every message names the Secret and key and what
 * is wrong, never a value from the content (the server's host:port excepted: it is what the allow-list names).
 */
import { isMap, parseDocument } from 'yaml';
import { PinwardenError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';

/** A kubeconfig Secret value larger than this is refused before it is parsed. */
export const MAX_KUBECONFIG_BYTES = 128 * 1024;

/** What the operator allows (controller flags). */
export interface RemoteClusterRules {
  /** `--remote-cluster`: normalized `host:port` addresses (`parseRemoteClusterAddress`); empty = none allowed. */
  allowedServers: readonly string[];
  /** `--insecure-kubeconfig-exec`: exec and auth-provider credential plugins may run. */
  allowExec: boolean;
  /** `--insecure-kubeconfig-tls`: `insecure-skip-tls-verify: true` is honoured. */
  allowInsecureTls: boolean;
}

/** The parts of a kubeconfig pinwarden connects with; everything else in the document is dropped. */
export interface RemoteKubeConfig {
  /** `https://host:port[/path]` */
  server: string;
  /** Normalized `host:port`, as matched against the allow-list. */
  address: string;
  /** base64 PEM (`certificate-authority-data`). */
  caData?: string;
  tlsServerName?: string;
  insecureSkipTlsVerify: boolean;
  user: {
    token?: string;
    /** base64 PEM */
    certData?: string;
    /** base64 PEM */
    keyData?: string;
    username?: string;
    password?: string;
    /** Only when `allowExec`. */
    exec?: Record<string, unknown>;
    /** Only when `allowExec`. */
    authProvider?: Record<string, unknown>;
  };
}

type Dict = Record<string, unknown>;
const dict = (value: unknown): Dict | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Dict) : undefined;

/**
 * `HOST[:PORT]` (an IPv6 address in brackets) → normalized `host:port` (lower case, the URL parser's form of an
 * IP address, port 443 when none is given), or undefined when it is not one.
 */
export function parseRemoteClusterAddress(entry: string): string | undefined {
  if (entry === '' || entry.length > 300 || /[/?#@\s\\]/.test(entry)) return undefined;
  let url: URL;
  try {
    url = new URL(`https://${entry}`);
  } catch {
    return undefined;
  }
  if (url.hostname === '' || url.pathname !== '/' || url.username !== '' || url.password !== '') return undefined;
  return `${url.hostname}:${url.port === '' ? '443' : url.port}`;
}

/**
 * Parses and judges one kubeconfig. `where` names its origin for messages (`Secret 'ns/name' key 'value'`).
 * Throws `PinwardenError`: `PW_KUBECONFIG_INVALID` (not a usable kubeconfig), `PW_REMOTE_CLUSTER_DENIED` (its
 * server is not allowed), `PW_KUBECONFIG_REFUSED` (it needs something the operator has not allowed).
 * The steps run in this order, so the first thing wrong in a document is the one reported.
 */
export function parseRemoteKubeConfig(bytes: Uint8Array, rules: RemoteClusterRules, where: string): RemoteKubeConfig {
  const complain = complaintsFor(where);
  const root = readDocument(bytes, complain);
  const { cluster, clusterName, user } = selectCurrentContext(root, complain);
  const { url, address } = judgeServer(cluster, clusterName, rules, complain);
  const tls = judgeClusterTls(cluster, rules, complain);
  return {
    server: url.href.replace(/\/$/, ''),
    address,
    ...tls,
    user: user === undefined ? {} : judgeUser(user, rules, complain),
  };
}

/** Errors about one kubeconfig, each naming where it came from. */
interface Complaints {
  fail: (code: ErrorCode, what: string) => PinwardenError;
  invalid: (what: string) => PinwardenError;
}

function complaintsFor(where: string): Complaints {
  const fail = (code: ErrorCode, what: string): PinwardenError =>
    new PinwardenError(code, `kubeconfig in ${where} ${what}`);
  return { fail, invalid: (what) => fail('PW_KUBECONFIG_INVALID', `is not valid: ${what}`) };
}

/** The bytes → a YAML mapping of kind Config (size-capped, UTF-8, no message quoting the document). */
function readDocument(bytes: Uint8Array, { invalid }: Complaints): Dict {
  if (bytes.byteLength === 0) throw invalid('it is empty');
  if (bytes.byteLength > MAX_KUBECONFIG_BYTES)
    throw invalid(`it is ${bytes.byteLength} bytes, over the ${MAX_KUBECONFIG_BYTES / 1024} KiB cap`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('it is not UTF-8 text');
  }
  // The parser's own messages quote the document: only the position of the first error is reported.
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const offset = doc.errors[0]?.pos[0];
    const before = offset === undefined ? undefined : text.slice(0, offset).split('\n');
    const at = before === undefined ? '' : ` (line ${before.length}, column ${before.at(-1)!.length + 1})`;
    throw invalid(`it is not YAML${at}`);
  }
  if (!isMap(doc.contents)) throw invalid('it is not a YAML mapping (apiVersion: v1, kind: Config)');
  let root: Dict;
  try {
    root = dict(doc.toJS({ maxAliasCount: 50 })) ?? {};
  } catch {
    throw invalid('it is not YAML (an alias could not be resolved)');
  }
  if (root.kind !== undefined && root.kind !== 'Config') throw invalid('kind is not Config');
  return root;
}

/** `contexts`, `clusters` or `users`: name → body (`context`, `cluster`, `user`); the first of a name wins. */
function namedEntries(root: Dict, field: string, { invalid }: Complaints): Map<string, Dict> {
  const found = new Map<string, Dict>();
  const list = root[field];
  if (list === undefined || list === null) return found;
  if (!Array.isArray(list)) throw invalid(`${field} is not a list`);
  for (const item of list) {
    const entry = dict(item);
    const name = entry?.name;
    if (typeof name !== 'string' || name === '') throw invalid(`an entry of ${field} has no name`);
    const singular = field.slice(0, -1);
    const body = dict(entry![singular]);
    if (body === undefined) throw invalid(`${field} entry '${short(name)}' has no ${singular}`);
    if (!found.has(name)) found.set(name, body);
  }
  return found;
}

/** The current context (or the only one) → its cluster and, when it names one, its user. */
function selectCurrentContext(
  root: Dict,
  complain: Complaints,
): { cluster: Dict; clusterName: string; user: Dict | undefined } {
  const { invalid } = complain;
  const contexts = namedEntries(root, 'contexts', complain);
  const clusters = namedEntries(root, 'clusters', complain);
  const users = namedEntries(root, 'users', complain);

  const current = root['current-context'];
  let contextName: string;
  if (typeof current === 'string' && current !== '') contextName = current;
  else if (contexts.size === 1) contextName = [...contexts.keys()][0]!;
  else throw invalid('current-context is not set');
  const context = contexts.get(contextName);
  if (context === undefined) throw invalid(`current-context '${short(contextName)}' is not in contexts`);
  const clusterName = context.cluster;
  if (typeof clusterName !== 'string' || clusterName === '')
    throw invalid(`context '${short(contextName)}' names no cluster`);
  const cluster = clusters.get(clusterName);
  if (cluster === undefined) throw invalid(`cluster '${short(clusterName)}' is not in clusters`);
  const userName = context.user;
  const user = typeof userName === 'string' && userName !== '' ? users.get(userName) : undefined;
  if (typeof userName === 'string' && userName !== '' && user === undefined)
    throw invalid(`user '${short(userName)}' is not in users`);
  return { cluster, clusterName, user };
}

/** The server: https only, and one the operator named. */
function judgeServer(
  cluster: Dict,
  clusterName: string,
  rules: RemoteClusterRules,
  { fail, invalid }: Complaints,
): { url: URL; address: string } {
  const server = cluster.server;
  if (typeof server !== 'string' || server === '') throw invalid(`cluster '${short(clusterName)}' has no server`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw invalid(`the server of cluster '${short(clusterName)}' is not a URL`);
  }
  if (url.protocol !== 'https:')
    throw fail('PW_KUBECONFIG_REFUSED', `names a server that is not https: credentials are never sent in clear`);
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    throw invalid('the server URL carries credentials, a query or a fragment');
  const address = `${url.hostname}:${url.port === '' ? '443' : url.port}`;
  if (rules.allowedServers.length === 0)
    throw fail(
      'PW_REMOTE_CLUSTER_DENIED',
      `names server ${address}, but no remote cluster is allowed: the controller needs --remote-cluster ${address} (chart: controller.kustomization.remoteClusters)`,
    );
  if (!rules.allowedServers.includes(address))
    throw fail(
      'PW_REMOTE_CLUSTER_DENIED',
      `names server ${address}, which is not in the controller's --remote-cluster allow-list`,
    );
  return { url, address };
}

/** How the server is trusted: inline CA data only, no proxy, insecure only when the operator allows it. */
function judgeClusterTls(
  cluster: Dict,
  rules: RemoteClusterRules,
  complain: Complaints,
): Pick<RemoteKubeConfig, 'caData' | 'tlsServerName' | 'insecureSkipTlsVerify'> {
  const { fail } = complain;
  for (const field of ['certificate-authority', 'proxy-url'])
    if (cluster[field] !== undefined && cluster[field] !== null && cluster[field] !== '')
      throw fail(
        'PW_KUBECONFIG_REFUSED',
        field === 'proxy-url'
          ? 'sets proxy-url: connections go only to the allowed server'
          : 'names a certificate-authority file: only inline certificate-authority-data is read',
      );
  const insecure = cluster['insecure-skip-tls-verify'] === true;
  if (insecure && !rules.allowInsecureTls)
    throw fail(
      'PW_KUBECONFIG_REFUSED',
      'sets insecure-skip-tls-verify: refused unless the controller runs with --insecure-kubeconfig-tls',
    );
  const caData = base64(cluster['certificate-authority-data'], 'certificate-authority-data', complain);
  const tlsServerName = plain(cluster['tls-server-name'], 'tls-server-name', complain);
  return {
    ...(caData === undefined ? {} : { caData }),
    ...(tlsServerName === undefined ? {} : { tlsServerName }),
    insecureSkipTlsVerify: insecure,
  };
}

/** The user's credentials: inline only, no impersonation, plugins only when the operator allows them. */
function judgeUser(user: Dict, rules: RemoteClusterRules, complain: Complaints): RemoteKubeConfig['user'] {
  const { fail, invalid } = complain;
  const remoteUser: RemoteKubeConfig['user'] = {};
  for (const [field, why] of [
    ['tokenFile', 'names a token file'],
    ['client-certificate', 'names a client-certificate file'],
    ['client-key', 'names a client-key file'],
  ] as const)
    if (user[field] !== undefined && user[field] !== null && user[field] !== '')
      throw fail('PW_KUBECONFIG_REFUSED', `${why}: only inline credentials (token, *-data) are read`);
  for (const field of ['as', 'as-uid', 'as-groups', 'as-user-extra'])
    if (user[field] !== undefined && user[field] !== null)
      throw fail(
        'PW_KUBECONFIG_REFUSED',
        `sets ${field}: impersonation on the remote cluster comes only from spec.serviceAccountName`,
      );
  for (const field of ['exec', 'auth-provider'] as const) {
    if (user[field] === undefined || user[field] === null) continue;
    if (!rules.allowExec)
      throw fail(
        'PW_KUBECONFIG_REFUSED',
        `uses an ${field} credential plugin (a command run in the controller's pod): refused unless the controller runs with --insecure-kubeconfig-exec`,
      );
    const plugin = dict(user[field]);
    if (plugin === undefined) throw invalid(`${field} is not a mapping`);
    if (field === 'exec') remoteUser.exec = plugin;
    else remoteUser.authProvider = plugin;
  }
  const token = plain(user.token, 'token', complain);
  const certData = base64(user['client-certificate-data'], 'client-certificate-data', complain);
  const keyData = base64(user['client-key-data'], 'client-key-data', complain);
  const username = plain(user.username, 'username', complain);
  const password = typeof user.password === 'string' && user.password !== '' ? user.password : undefined;
  if (password !== undefined && /[\r\n]/.test(password)) throw invalid('password is not a single line');
  if ((certData === undefined) !== (keyData === undefined))
    throw invalid('client-certificate-data and client-key-data come together');
  return {
    ...remoteUser,
    ...(token === undefined ? {} : { token }),
    ...(certData === undefined ? {} : { certData, keyData }),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}

/** An optional base64 field, whitespace removed. */
function base64(value: unknown, what: string, { invalid }: Complaints): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(`${what} is not base64`);
  // Whitespace first, then one linear pattern (no overlapping classes to backtrack over).
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) throw invalid(`${what} is not base64`);
  return compact;
}

/** An optional field of one line of printable ASCII. */
function plain(value: unknown, what: string, { invalid }: Complaints): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !/^[\x21-\x7e]+$/.test(value))
    throw invalid(`${what} is not a single line of printable text`);
  return value;
}

/** A name from the document, shortened for a message (names are not credentials, but are capped). */
function short(name: string): string {
  const clean = name.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 63 ? `${clean.slice(0, 60)}...` : clean;
}
