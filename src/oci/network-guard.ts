/**
 * Which addresses the webhook may contact on a tenant's behalf (SSRF guard). The check runs on the address a
 * socket is about to connect to, after DNS (the transport's `lookup`), so no spelling of a host (decimal,
 * octal, hex, IPv4-mapped IPv6, a name that resolves to 127.0.0.1) gets around it; literal IP hosts, which
 * skip DNS, are checked by the transport before it connects. A denied address is never connected to, so the
 * answer is the same whether its port is open, closed or speaks another protocol (no port scanner).
 *
 * Order: `denyNetworks` → `allowNetworks` → special ranges (loopback, link-local and metadata, unspecified,
 * multicast, reserved: always denied) → private and shared ranges (allowed only for a host the policy names)
 * → public. The CLI acts for its user and passes no guard.
 */
import { createHash } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { PinwardenError } from '../core/errors.ts';
import { parseCidr } from '../core/network/index.ts';
import { DOCKER_HUB_API_HOST } from './reference.ts';

export interface NetworkGuard {
  /** Stable for equal settings: transports and pooled repositories are keyed by it. */
  readonly identity: string;
  /** The refusal when `address` (what `host` resolved to, or the literal IP) may not be contacted. */
  checkAddress(host: string, address: string): PinwardenError | undefined;
  /** The refusal when a redirect target or token realm is on a host the policy does not name. */
  checkHost(url: URL, role: 'redirect target' | 'token realm'): PinwardenError | undefined;
}

export interface NetworkGuardOptions {
  /** CIDRs allowed although special or private (policy `registry.allowNetworks`). */
  allowNetworks?: readonly string[];
  /** CIDRs always denied (policy `registry.denyNetworks`). */
  denyNetworks?: readonly string[];
  /**
   * `host[:port]`s the policy names (hosts of `allowedRegistries` prefixes): their private addresses are
   * reachable, and when the list is non-empty, redirects and token realms must stay on them.
   */
  namedHosts?: readonly string[];
}

type Family = 'ipv4' | 'ipv6';

/** Never contacted unless `allowNetworks` covers them: not a registry anyone means to reach from a cluster. */
const SPECIAL_RANGES: ReadonlyArray<readonly [string, string]> = [
  ['0.0.0.0/8', 'unspecified'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['100.100.100.200/32', 'metadata'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'reserved'],
  ['198.51.100.0/24', 'reserved'],
  ['203.0.113.0/24', 'reserved'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::/96', 'reserved'],
  ['100::/64', 'reserved'],
  ['64:ff9b:1::/48', 'reserved'],
  ['2001::/32', 'reserved'],
  ['2001:db8::/32', 'reserved'],
  ['fe80::/10', 'link-local'],
  ['fd00:ec2::254/128', 'metadata'],
  ['ff00::/8', 'multicast'],
];

/** Reachable only for a host the policy names (an in-cluster Harbor, a VPC endpoint) or via `allowNetworks`. */
const PRIVATE_RANGES: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '198.18.0.0/15',
  'fc00::/7',
  'fec0::/10',
];

let builtinLists: { special: { list: BlockList; label: string }[]; private: BlockList } | undefined;

/** Built with the first guard (the webhook's, the controller's), not on import: the CLI has none (~2 ms of CPU). */
function rangeLists(): NonNullable<typeof builtinLists> {
  builtinLists ??= {
    special: SPECIAL_RANGES.map(([cidr, label]) => ({ list: blockListOf([cidr]), label })),
    private: blockListOf(PRIVATE_RANGES),
  };
  return builtinLists;
}

export function createNetworkGuard(options: NetworkGuardOptions = {}): NetworkGuard {
  const { special: specialLists, private: privateList } = rangeLists();
  const allow = blockListOf(options.allowNetworks ?? []);
  const deny = blockListOf(options.denyNetworks ?? []);
  const named = (options.namedHosts ?? []).flatMap(namedHosts);
  const identity = createHash('sha256')
    .update(JSON.stringify([options.allowNetworks ?? [], options.denyNetworks ?? [], options.namedHosts ?? []]))
    .digest('hex')
    .slice(0, 16);
  const isNamed = (hostname: string, port?: string): boolean =>
    named.some(
      (entry) =>
        entry.hostname === bareHost(hostname) &&
        (entry.port === undefined || port === undefined || entry.port === port),
    );

  return {
    identity,
    checkAddress(host, address) {
      const ip = canonicalAddress(address);
      if (!ip) return denied(host, 'unparsable');
      if (deny.check(ip.address, ip.family)) return denied(host, 'listed in registry.denyNetworks');
      if (allow.check(ip.address, ip.family)) return undefined;
      const special = specialLists.find((entry) => entry.list.check(ip.address, ip.family));
      if (special) return denied(host, special.label);
      if (privateList.check(ip.address, ip.family) && !isNamed(host)) return denied(host, 'private');
      return undefined;
    },
    checkHost(url, role) {
      if (named.length === 0 || isNamed(url.hostname, url.port === '' ? undefined : url.port)) return undefined;
      return new PinwardenError(
        'PW_REGISTRY_ADDRESS_DENIED',
        `${role} ${url.host} is not a host in spec.ociRepository.allowedRegistries; not contacted`,
        {
          details: { host: url.host },
        },
      );
    },
  };
}

/**
 * A `lookup` for http(s) agents: resolves as node would, drops the addresses the guard refuses and fails with
 * the guard's error when none is left (a name with one public and one internal address only reaches the public one).
 */
export function guardedLookup(guard: NetworkGuard): LookupFunction {
  return (hostname, options, callback) => {
    const all: LookupAllOptions = { ...options, all: true };
    dnsLookup(hostname, all, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      let refusal: PinwardenError | undefined;
      const usable = addresses.filter((entry) => {
        const why = guard.checkAddress(hostname, entry.address);
        refusal ??= why;
        return why === undefined;
      });
      const first = usable[0];
      if (!first) {
        const failure = refusal ?? new PinwardenError('PW_REGISTRY_UNREACHABLE', `${hostname}: no address`);
        return callback(failure, '', 0);
      }
      if (options.all === true) return callback(null, usable);
      return callback(null, first.address, first.family);
    });
  };
}

/** The IP literal a URL names (which connects without DNS), without IPv6 brackets; undefined for names. */
export function literalAddress(url: URL): string | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) === 0 ? undefined : host;
}

/** IPv4 in IPv6 (mapped, translated, NAT64, 6to4) is judged as the IPv4 address it reaches; zone ids are dropped. */
export function canonicalAddress(address: string): { address: string; family: Family } | undefined {
  const bare = address.split('%')[0] ?? '';
  const version = isIP(bare);
  if (version === 4) return { address: bare, family: 'ipv4' };
  if (version !== 6) return undefined;
  const groups = ipv6Groups(bare);
  if (!groups) return undefined;
  const embedded = embeddedIpv4(groups);
  return embedded === undefined ? { address: bare, family: 'ipv6' } : { address: embedded, family: 'ipv4' };
}

function embeddedIpv4(groups: readonly number[]): string | undefined {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  const quad = (high: number, low: number): string => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) return quad(g6, g7);
  // IPv4-translated (::ffff:0:a.b.c.d, RFC 2765): also reaches an IPv4 host through a translator.
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) return quad(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return quad(g6, g7);
  if (g0 === 0x2002) return quad(g1, g2);
  return undefined;
}

/** Eight 16-bit groups of a valid IPv6 address (dotted IPv4 tail allowed). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (tail !== undefined) {
    const octets = tail.split('.').map(Number);
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    text = `${text.slice(0, -tail.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - left.length - right.length;
  if (rest === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...right].map((group) =>
    Number.parseInt(group, 16),
  );
  return groups.length === 8 && groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff)
    ? groups
    : undefined;
}

function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (!cidr) throw new PinwardenError('PW_POLICY_INVALID', `'${text.slice(0, 64)}' is not a CIDR`);
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return list;
}

function denied(host: string, category: string): PinwardenError {
  return new PinwardenError(
    'PW_REGISTRY_ADDRESS_DENIED',
    `${bareHost(host).slice(0, 253)}: address denied (${category}); the webhook contacts it only if the policy's registry.allowNetworks covers it${category === 'private' ? ' or allowedRegistries names the host' : ''}`,
    { details: { host: bareHost(host).slice(0, 253), category } },
  );
}

/** Docker Hub serves its API, tokens and blobs from other hosts than the name people write. */
const DOCKER_HUB_HOSTS = [DOCKER_HUB_API_HOST, 'auth.docker.io', 'production.cloudflare.docker.com'];

/** `Harbor.internal:8443` → hostname `harbor.internal`, port `8443`; `docker.io` → the hosts that serve it. */
function namedHosts(entry: string): Array<{ hostname: string; port?: string }> {
  try {
    const url = new URL(`https://${entry}/`);
    const hostname = bareHost(url.hostname);
    if (hostname === 'docker.io' || hostname === 'index.docker.io')
      return [hostname, ...DOCKER_HUB_HOSTS].map((name) => ({ hostname: name }));
    return [url.port === '' ? { hostname } : { hostname, port: url.port }];
  } catch {
    return [{ hostname: bareHost(entry) }];
  }
}

/** Lowercase, no trailing dot, no IPv6 brackets: how two spellings of one host compare equal. */
function bareHost(host: string): string {
  const lower = host.toLowerCase().replace(/\.$/, '');
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
}

/** Host names of `allowedRegistries` prefixes (for `namedHosts`). */
export function hostsOfPrefixes(prefixes: readonly string[]): string[] {
  return prefixes.map((prefix) => prefix.replace(/^oci:\/\//i, '').split('/')[0] ?? '').filter((host) => host !== '');
}
