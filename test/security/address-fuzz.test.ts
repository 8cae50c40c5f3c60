// Fuzz (issue #7 items 2 and 12): whatever spelling of an internal address reaches the URL parser (decimal,
// octal, hex, shortened, IPv4-mapped / NAT64 / 6to4 IPv6, full-width digits, userinfo, ports, trailing dots),
// the guard sees the address it will connect to and denies it; public addresses stay reachable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCidr } from '../../src/core/network/index.ts';
import { canonicalAddress, createNetworkGuard, guardedLookup, literalAddress } from '../../src/oci/network-guard.ts';

const guard = createNetworkGuard();
const octet = fc.integer({ min: 0, max: 255 });
const quad = (a: number, b: number, c: number, d: number): number => ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;

/** Spellings WHATWG URL (and inet_aton-style resolvers) accept for one IPv4 address. */
function spellingsOf(a: number, b: number, c: number, d: number): string[] {
  const n = quad(a, b, c, d);
  const hex = (value: number): string => value.toString(16).padStart(4, '0');
  const fullWidth = (text: string): string =>
    text.replace(/[0-9.]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0));
  return [
    `${a}.${b}.${c}.${d}`,
    `${a}.${b}.${c}.${d}.`,
    String(n),
    `0x${n.toString(16)}`,
    `0${n.toString(8)}`,
    `0x${a.toString(16)}.${b}.0${c.toString(8)}.${d}`,
    `${a}.${(b << 16) + (c << 8) + d}`,
    `${a}.${b}.${(c << 8) + d}`,
    fullWidth(`${a}.${b}.${c}.${d}`),
    `[::ffff:${a}.${b}.${c}.${d}]`,
    `[::ffff:${hex((a << 8) + b)}:${hex((c << 8) + d)}]`,
    `[0:0:0:0:0:ffff:${a}.${b}.${c}.${d}]`,
    `[64:ff9b::${a}.${b}.${c}.${d}]`,
    `[::ffff:0:${a}.${b}.${c}.${d}]`,
    `[2002:${hex((a << 8) + b)}:${hex((c << 8) + d)}::1]`,
  ];
}

const userinfo = fc.option(fc.constantFrom('user@', 'user:pass@', 'a%40b:c@', '@'), { nil: '' });
const port = fc.option(
  fc.integer({ min: 1, max: 65535 }).map((value) => `:${value}`),
  { nil: '' },
);

function deniedUrl(text: string): boolean {
  const url = new URL(text);
  const literal = literalAddress(url);
  assert.ok(literal !== undefined, `${text} → ${url.hostname} should be a literal address`);
  return guard.checkAddress(literal, literal)?.code === 'PW_REGISTRY_ADDRESS_DENIED';
}

const internalAddresses = fc.oneof(
  fc.tuple(fc.constant(127), octet, octet, octet),
  fc.tuple(fc.constant(169), fc.constant(254), octet, octet),
  fc.tuple(fc.constant(0), octet, octet, octet),
  fc.tuple(fc.integer({ min: 224, max: 255 }), octet, octet, octet),
  fc.tuple(fc.constant(10), octet, octet, octet),
  fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), octet, octet),
  fc.tuple(fc.constant(192), fc.constant(168), octet, octet),
  fc.tuple(fc.constant(100), fc.integer({ min: 64, max: 127 }), octet, octet),
);

test('every spelling of a loopback, link-local, unspecified, multicast or private IPv4 address is denied', () => {
  fc.assert(
    fc.property(
      internalAddresses,
      userinfo,
      port,
      fc.constantFrom('http', 'https'),
      ([a, b, c, d], user, suffix, scheme) => {
        for (const host of spellingsOf(a, b, c, d)) {
          assert.ok(deniedUrl(`${scheme}://${user}${host}${suffix}/v2/`), `${host} (${a}.${b}.${c}.${d})`);
        }
      },
    ),
    { numRuns: 400 },
  );
});

test('public IPv4 addresses stay reachable in every spelling', () => {
  const publicFirst = fc
    .integer({ min: 1, max: 223 })
    .filter((a) => ![10, 100, 127, 169, 172, 192, 198, 203].includes(a));
  fc.assert(
    fc.property(publicFirst, octet, octet, octet, (a, b, c, d) => {
      for (const host of spellingsOf(a, b, c, d)) {
        const url = new URL(`https://${host}/`);
        assert.equal(guard.checkAddress(url.hostname, literalAddress(url) ?? ''), undefined, host);
      }
    }),
    { numRuns: 300 },
  );
});

test('IPv6 specials are denied: loopback, unspecified, link-local (with zone), unique-local, multicast, metadata', () => {
  const group = fc.integer({ min: 0, max: 0xffff }).map((value) => value.toString(16));
  const ipv6 = fc.oneof(
    fc.constant('::1'),
    fc.constant('::'),
    fc.constant('0:0:0:0:0:0:0:1'),
    fc.constant('fd00:ec2::254'),
    fc.tuple(group, group).map(([x, y]) => `fe80::${x}:${y}%eth0`),
    fc.tuple(group, group).map(([x, y]) => `fe9f:${x}::${y}`),
    fc.tuple(group, group).map(([x, y]) => `fd${x.padStart(4, '0').slice(2)}:${y}::1`),
    fc.tuple(group, group).map(([x, y]) => `ff0e::${x}:${y}`),
  );
  fc.assert(
    fc.property(ipv6, (address) => {
      assert.equal(guard.checkAddress('h', address)?.code, 'PW_REGISTRY_ADDRESS_DENIED', address);
    }),
    { numRuns: 300 },
  );
  assert.equal(guard.checkAddress('h', '2606:4700::6810:84e5'), undefined, 'a public IPv6 address is fine');
});

test('private ranges open only for hosts the policy names; allowNetworks opens and denyNetworks closes any range', () => {
  const named = createNetworkGuard({ namedHosts: ['harbor.internal:8443'] });
  assert.equal(named.checkAddress('harbor.internal', '10.1.2.3'), undefined);
  assert.equal(named.checkAddress('Harbor.Internal.', '10.1.2.3'), undefined, 'case and trailing dot do not matter');
  assert.equal(named.checkAddress('evil.example', '10.1.2.3')?.code, 'PW_REGISTRY_ADDRESS_DENIED');
  assert.equal(
    named.checkAddress('harbor.internal', '127.0.0.1')?.code,
    'PW_REGISTRY_ADDRESS_DENIED',
    'naming a host does not open loopback',
  );
  assert.equal(named.checkAddress('harbor.internal', '169.254.169.254')?.code, 'PW_REGISTRY_ADDRESS_DENIED');
  fc.assert(
    fc.property(octet, octet, (c, d) => {
      const open = createNetworkGuard({ allowNetworks: ['127.0.0.0/8', '10.0.0.0/8'], denyNetworks: ['10.96.0.0/12'] });
      assert.equal(open.checkAddress('x', `127.0.${c}.${d}`), undefined);
      assert.equal(
        open.checkAddress('x', `[::ffff:127.0.${c}.${d}]`.slice(1, -1)),
        undefined,
        'mapped IPv6 is judged as IPv4',
      );
      assert.equal(open.checkAddress('x', `10.97.${c}.${d}`)?.code, 'PW_REGISTRY_ADDRESS_DENIED', 'denyNetworks wins');
      assert.equal(open.checkAddress('x', `10.1.${c}.${d}`), undefined);
    }),
    { numRuns: 100 },
  );
});

test('redirect and realm hosts: any host without allowedRegistries; only the named ones (port-aware) with them', () => {
  assert.equal(guard.checkHost(new URL('https://anything.example/x'), 'redirect target'), undefined);
  const named = createNetworkGuard({ namedHosts: ['ghcr.io', 'registry.example:5000', 'docker.io'] });
  assert.equal(named.checkHost(new URL('https://GHCR.io./token'), 'token realm'), undefined);
  assert.equal(named.checkHost(new URL('https://registry.example:5000/t'), 'token realm'), undefined);
  assert.equal(
    named.checkHost(new URL('https://registry.example:6000/t'), 'token realm')?.code,
    'PW_REGISTRY_ADDRESS_DENIED',
  );
  assert.equal(
    named.checkHost(new URL('https://auth.docker.io/token'), 'token realm'),
    undefined,
    "Docker Hub's token service",
  );
  assert.equal(
    named.checkHost(new URL('https://user:pw@evil.example/ghcr.io'), 'redirect target')?.code,
    'PW_REGISTRY_ADDRESS_DENIED',
  );
});

test('CIDR parsing never throws, and accepts only address/prefix within the family', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (text) => {
      const parsed = parseCidr(text);
      if (parsed) assert.ok(parsed.prefix <= (parsed.family === 'ipv4' ? 32 : 128));
    }),
    { numRuns: 2000 },
  );
  assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  assert.equal(parseCidr('010.0.0.0/8'), undefined, 'octal-looking IPv4 is refused');
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(parseCidr('fd00::/8')?.family, 'ipv6');
  assert.equal(parseCidr('fd00::/129'), undefined);
  assert.equal(canonicalAddress('::ffff:7f00:1')?.address, '127.0.0.1');
});

test('names are judged by what they resolve to: localhost (and its IDN spelling) is denied at lookup', async () => {
  const lookup = guardedLookup(guard);
  for (const name of [new URL('http://localhost/').hostname, new URL('http://ⓛocalhost/').hostname]) {
    const error = await new Promise<unknown>((resolve) => lookup(name, { all: true }, (failure) => resolve(failure)));
    assert.equal((error as { code?: string } | null)?.code, 'PW_REGISTRY_ADDRESS_DENIED', name);
  }
  // A trailing-dot name resolves (or not) as the system says; either way no usable address comes back.
  const dotted = await new Promise<unknown>((resolve) =>
    lookup('LOCALHOST.', { all: true }, (failure) => resolve(failure)),
  );
  assert.ok(
    ['PW_REGISTRY_ADDRESS_DENIED', 'ENOTFOUND', 'EAI_AGAIN'].includes(
      String((dotted as { code?: string } | null)?.code),
    ),
  );
});
