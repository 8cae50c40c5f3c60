/**
 * CIDR notation for `registry.allowNetworks` / `denyNetworks`, parsed without I/O (the core stays pure): IPv4
 * in strict dotted decimal (no octal or hex spellings, which resolvers read differently), IPv6 as the WHATWG
 * URL parser accepts it inside brackets. The OCI room turns the result into a `net.BlockList`.
 */

export interface Cidr {
  /** The address part as written (IPv6 normalised by the URL parser, without brackets). */
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

const IPV4 = /^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/;

/** The CIDR, or undefined when `text` is not `address/prefix` with a prefix the family allows. */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/]{1,45})\/(\d{1,3})$/.exec(text);
  if (!match) return undefined;
  const [, address = '', prefixText = ''] = match;
  const prefix = Number(prefixText);
  if (IPV4.test(address)) {
    if (address.split('.').some((octet) => Number(octet) > 255) || prefix > 32) return undefined;
    return { address, prefix, family: 'ipv4' };
  }
  const ipv6 = normaliseIpv6(address);
  if (ipv6 === undefined || prefix > 128) return undefined;
  return { address: ipv6, prefix, family: 'ipv6' };
}

function normaliseIpv6(address: string): string | undefined {
  if (!address.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(address)) return undefined;
  try {
    const host = new URL(`http://[${address}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return undefined;
  }
}
