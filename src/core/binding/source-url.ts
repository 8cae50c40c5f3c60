/**
 * One spelling per repository, so `org.opencontainers.image.source` can be compared with the certificate's
 * SourceRepositoryURI: `https://`, `http://`, `git://`, `ssh://git@` and scp-like `git@host:owner/name` all
 * become `host/path`; a trailing `.git` or `/` goes, the host is lower-cased (and a scheme's default port
 * dropped), and on github.com and gitlab.com, whose owner and project names are case-insensitive, the path too.
 */

const CASE_INSENSITIVE_HOSTS = new Set(['github.com', 'gitlab.com']);
/** Bounds the work on a tenant's annotation (the patterns below are linear only up to a quadratic corner). */
export const MAX_SOURCE_LENGTH = 2048;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { https: '443', http: '80', ssh: '22', git: '9418' };

export type NormalizedSource = { ok: true; key: string } | { ok: false; reason: string };

export function normalizeSourceUrl(raw: string): NormalizedSource {
  const text = raw.trim();
  if (text === '') return { ok: false, reason: 'is empty' };
  if (text.length > MAX_SOURCE_LENGTH) return { ok: false, reason: `is longer than ${MAX_SOURCE_LENGTH} characters` };
  const parts = splitUrl(text);
  if (!parts)
    return {
      ok: false,
      reason: 'is not a repository URL (https://host/owner/name, ssh://git@host/owner/name or git@host:owner/name)',
    };
  const host = parts.host.toLowerCase();
  let path = parts.path
    .replace(/\/+$/, '')
    .replace(/\.git$/i, '')
    .replace(/\/+$/, '');
  if (path === '' || path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    return { ok: false, reason: 'names no repository path' };
  }
  if (CASE_INSENSITIVE_HOSTS.has(host)) path = path.toLowerCase();
  const port = parts.port !== undefined && parts.port !== DEFAULT_PORTS[parts.scheme] ? `:${parts.port}` : '';
  return { ok: true, key: `${host}${port}/${path}` };
}

interface UrlParts {
  scheme: string;
  host: string;
  port?: string;
  path: string;
}

function splitUrl(text: string): UrlParts | undefined {
  const url = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(?:[^@/]*@)?([^/:?#]+)(?::(\d+))?\/([^?#]*)$/.exec(text);
  if (url) {
    const scheme = url[1]!.toLowerCase();
    if (!['https', 'http', 'ssh', 'git', 'git+ssh', 'ssh+git'].includes(scheme)) return undefined;
    return {
      scheme: scheme.includes('ssh') ? 'ssh' : scheme,
      host: url[2]!,
      ...(url[3] !== undefined ? { port: url[3] } : {}),
      path: url[4]!,
    };
  }
  // scp-like: [user@]host:path (no scheme, no slash before the colon)
  const scp = /^(?:[^@/:]+@)?([^/:@]+):(?!\/\/)([^?#]+)$/.exec(text);
  if (scp) return { scheme: 'ssh', host: scp[1]!, path: scp[2]!.replace(/^\/+/, '') };
  return undefined;
}

/**
 * The annotation as it may be shown: `https://user:token@host/…` is what `git config --get remote.origin.url`
 * prints in a CI that clones with a token, and `flux push artifact --source` copies it verbatim. Userinfo in a
 * `scheme://` URL is replaced (except ssh's conventional `git` user); nothing else changes.
 */
export function redactSourceUrl(raw: string): string {
  return raw.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^@/?#]*)@/, (whole, scheme: string, userinfo: string) =>
    userinfo === 'git' ? whole : `${scheme}***@`,
  );
}
