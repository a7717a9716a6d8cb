/**
 * Egress control for destinations that users supply (alert webhooks, Slack webhook URLs, PagerDuty
 * endpoints, SMTP hosts; OpenAI-compatible endpoints of Tier 3 later): by default the workers and the
 * console refuse to connect to loopback, private, link-local (cloud metadata), shared, multicast and
 * reserved addresses, so an organization's admin cannot point a channel at the deployment's own
 * network. The operator allows exceptions (`METRONIS_EGRESS_ALLOW`: host names, `*.suffix` names,
 * addresses or CIDRs, comma-separated).
 *
 * Two checks, both needed:
 * - `checkUrl` / `checkHost` on the text, when a destination is saved (a clear 400 naming the field):
 *   the scheme, an address literal (in any of the forms URL parsers accept), `localhost` names;
 * - `lookup`, a `dns.lookup` for `net.connect`/`tls.connect` (undici's `connect.lookup`), checks the
 *   addresses a name resolves to at connect time, so a name that resolved to a public address when
 *   saved and to 127.0.0.1 when used (DNS rebinding) is refused too. A refusal is an error with code
 *   `EGRESS_REFUSED` and a message naming the host, the address and the setting. `resolve` does the
 *   same for clients that take an address (SMTP: connect to the checked address).
 *
 * @example
 *   const egress = createEgressPolicy({ allow: ['127.0.0.1', 'hooks.internal.example.com', '10.20.0.0/16'] });
 *   egress.checkUrl('http://169.254.169.254/latest/meta-data') // → 'the address 169.254.169.254 is link-local (cloud metadata) ...'
 *   new Agent({ connect: { lookup: egress.lookup } })
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

export const EGRESS_ALLOW_SETTING = 'METRONIS_EGRESS_ALLOW';

const REFUSED_RANGES: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', '"this network"'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared address space (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['fc00::', 7, 'ipv6', 'unique local (private)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
  ['2001:db8::', 32, 'ipv6', 'documentation'],
];

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible or NAT64 (64:ff9b::/96) IPv6 address. */
function embeddedIpv4(address: string): string | null {
  const bytes = ipv6Bytes(address);
  if (bytes === null) return null;
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  const mapped = zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff;
  const compatible = zeros(0, 12) && bytes[12] !== 0; // (not ::1 nor ::)
  const nat64 = bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12);
  return mapped || compatible || nat64 ? bytes.slice(12).join('.') : null;
}

function ipv6Bytes(address: string): number[] | null {
  let text = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const dotted = text.match(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const groups = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (groups.length !== 8) return null;
  const bytes: number[] = [];
  for (const g of groups) {
    const n = Number.parseInt(g, 16);
    if (!/^[0-9a-f]{1,4}$/i.test(g) || Number.isNaN(n)) return null;
    bytes.push(n >> 8, n & 0xff);
  }
  return bytes;
}

export interface EgressPolicy {
  /** why connecting to `address` (an IP) is refused, or null; `host` is the name it came from */
  refuseAddress(address: string, host?: string): string | null;
  /** why a host (name or address literal, as in a URL) is refused on its text alone, or null */
  checkHost(host: string): string | null;
  /** why a URL is refused on its text alone (scheme, host), or null */
  checkUrl(url: string): string | null;
  /** `dns.lookup` for `net.connect`/`tls.connect`: fails with EGRESS_REFUSED when a resolved address is refused */
  lookup(hostname: string, options: LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void;
  /** resolves `host` and answers an address that may be connected to, or throws EGRESS_REFUSED */
  resolve(host: string): Promise<string>;
}

/** Resolves a name to all its addresses (`dns.lookup` with `all: true`; tests give their own). */
export type Resolver = (hostname: string, options: LookupOptions & { all: true }, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

export class EgressRefusedError extends Error {
  readonly code = 'EGRESS_REFUSED';
}

/** Parses the operator's allow-list (the setting's text); throws naming the entry that is not a host, address or CIDR. */
export function parseEgressAllow(text: string | undefined): string[] {
  const entries = (text ?? '').split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    if (extra !== undefined) throw new Error(`'${entry}' is not a host name, address or CIDR`);
    if (bits !== undefined) {
      const family = isIP(address!);
      const n = Number(bits);
      if (family === 0 || !/^\d+$/.test(bits) || n > (family === 4 ? 32 : 128)) throw new Error(`'${entry}' is not a CIDR (address/bits)`);
    } else if (isIP(entry.replace(/^\[|\]$/g, '')) === 0 && !/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(entry)) {
      throw new Error(`'${entry}' is not a host name (or *.suffix), address or CIDR`);
    }
  }
  return entries;
}

/** A policy refusing internal addresses except the `allow` entries (host names, `*.suffix`, addresses, CIDRs). */
export function createEgressPolicy(options: { allow?: string[]; resolver?: Resolver } = {}): EgressPolicy {
  const resolver: Resolver = options.resolver ?? dnsLookup;
  const refused = new BlockList();
  const reasons: [BlockList, string][] = [];
  for (const [address, bits, family, reason] of REFUSED_RANGES) {
    refused.addSubnet(address, bits, family);
    const one = new BlockList();
    one.addSubnet(address, bits, family);
    reasons.push([one, reason]);
  }
  const allowedAddresses = new BlockList();
  const allowedNames: string[] = [];
  const allowedSuffixes: string[] = [];
  for (const entry of parseEgressAllow((options.allow ?? []).join(','))) {
    const [address, bits] = entry.split('/');
    const bare = address!.replace(/^\[|\]$/g, '');
    const family = isIP(bare);
    if (family !== 0) {
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) allowedAddresses.addAddress(bare, type);
      else allowedAddresses.addSubnet(bare, Number(bits), type);
    } else if (entry.startsWith('*.')) allowedSuffixes.push(entry.slice(1).toLowerCase());
    else allowedNames.push(entry.toLowerCase());
  }
  const nameAllowed = (host: string) => {
    const h = host.toLowerCase().replace(/\.$/, '');
    return allowedNames.includes(h) || allowedSuffixes.some((s) => h.endsWith(s));
  };
  const hint = `allow it with ${EGRESS_ALLOW_SETTING} if it is meant`;

  function refuseAddress(address: string, host?: string): string | null {
    if (host !== undefined && nameAllowed(host)) return null;
    const bare = address.replace(/^\[|\]$/g, '');
    const family = isIP(bare);
    if (family === 0) return `'${address.slice(0, 100)}' is not an address`;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (allowedAddresses.check(bare, type)) return null;
    const inner = family === 6 ? embeddedIpv4(bare) : null;
    if (inner !== null) {
      const why = refuseAddress(inner);
      return why === null ? null : `the address ${bare} embeds ${inner}: ${why}`;
    }
    if (!refused.check(bare, type)) return null;
    const reason = reasons.find(([list]) => list.check(bare, type))?.[1] ?? 'internal';
    return `the address ${bare}${host !== undefined && host !== bare ? ` (of ${host.slice(0, 200)})` : ''} is ${reason}: destinations inside the deployment's network are refused; ${hint}`;
  }

  function checkHost(host: string): string | null {
    const bare = host.replace(/^\[|\]$/g, '');
    if (nameAllowed(bare)) return null;
    if (isIP(bare) !== 0) return refuseAddress(bare);
    let canonical: string;
    try {
      // URL parsing turns 2130706433, 0x7f.1 and 127.1 into 127.0.0.1, as resolvers would
      canonical = new URL(`http://${bare.includes(':') ? `[${bare}]` : bare}/`).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return `'${host.slice(0, 200)}' is not a host name or address`;
    }
    if (isIP(canonical) !== 0) return refuseAddress(canonical, bare);
    const name = canonical.replace(/\.$/, '');
    if (name === 'localhost' || name.endsWith('.localhost') || name === 'metadata.google.internal' || name === 'metadata') {
      return `the host ${name} is the deployment's own machine or metadata service: refused; ${hint}`;
    }
    return null;
  }

  function checkUrl(url: string): string | null {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'not a URL';
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `the scheme ${parsed.protocol} is not http(s)`;
    return checkHost(parsed.hostname);
  }

  const refusal = (message: string) => new EgressRefusedError(`egress refused: ${message}`);

  const policy: EgressPolicy = {
    refuseAddress,
    checkHost,
    checkUrl,
    lookup(hostname, options, callback) {
      const byText = checkHost(hostname);
      if (byText !== null) {
        callback(refusal(byText), options.all === true ? [] : '', 0);
        return;
      }
      resolver(hostname, { ...options, all: true }, (error, addresses) => {
        if (error !== null) {
          callback(error, options.all === true ? [] : '', 0);
          return;
        }
        for (const a of addresses) {
          const why = refuseAddress(a.address, hostname);
          if (why !== null) {
            callback(refusal(why), options.all === true ? [] : '', 0);
            return;
          }
        }
        if (options.all === true) callback(null, addresses);
        else if (addresses[0] === undefined) callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
        else callback(null, addresses[0].address, addresses[0].family);
      });
    },
    resolve(host) {
      return new Promise((resolve, reject) => {
        policy.lookup(host, {}, (error, address) => (error !== null ? reject(error) : resolve(address as string)));
      });
    },
  };
  return policy;
}
