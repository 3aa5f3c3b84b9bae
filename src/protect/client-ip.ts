import { BlockList, isIP } from 'node:net';

/**
 * Decides the client IP used for rate limits and the audit log. Without configured
 * trusted proxies it is the socket address, and X-Forwarded-For, X-Real-IP and
 * Forwarded are ignored: anyone can send them, so trusting them would let an attacker
 * pick a fresh "IP" per request and reset every limit (RATE-03).
 */
export type ClientIpResolver = (socketIp: string | undefined, headers: Headers) => string | null;

/**
 * The rate-limit key for a client. Without an IP (an adapter that did not pass one) all
 * such clients share one bucket: still limited, never unlimited; the docs tell adapters
 * to pass `{ ip }`.
 */
export function ipKey(ip: string | null): string {
  return `ip:${clientBucket(ip) ?? 'unknown'}`;
}

/**
 * Who counts as one client for per-IP limits (RATE-02/04): an IPv4 address, or an IPv6 /64.
 * One subscriber or host is routinely given a whole /64, so keying by the full IPv6 address
 * would hand an attacker 2^64 fresh budgets.
 */
export function clientBucket(ip: string | null): string | null {
  if (ip === null || isIP(ip) !== 6) return ip;
  const groups = ipv6Groups(ip);
  return groups === null ? ip : `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (with `::`, an IPv4 tail or a zone id). */
function ipv6Groups(ip: string): number[] | null {
  let address = ip.split('%', 1)[0]!.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    address = `${address.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  const left = parse(halves[0]!);
  const right = halves.length === 2 ? parse(halves[1]!) : [];
  const zeros = halves.length === 2 ? 8 - left.length - right.length : 0;
  if (zeros < 0) return null;
  const groups = [...left, ...new Array<number>(zeros).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

function normalize(ip: string): string {
  const trimmed = ip.trim();
  // IPv4-mapped IPv6 (::ffff:1.2.3.4) is the same client as 1.2.3.4.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  return mapped ? mapped[1]! : trimmed;
}

export function createClientIpResolver(trustedProxies: readonly string[]): ClientIpResolver {
  if (trustedProxies.length === 0) return (socketIp) => (socketIp === undefined ? null : normalize(socketIp));

  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [address = '', prefix] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) trusted.addAddress(address, type);
    else trusted.addSubnet(address, Number(prefix), type);
  }
  const isTrusted = (ip: string): boolean => {
    const kind = isIP(ip);
    return kind !== 0 && trusted.check(ip, kind === 6 ? 'ipv6' : 'ipv4');
  };

  return (socketIp, headers) => {
    if (socketIp === undefined) return null;
    let client = normalize(socketIp);
    if (!isTrusted(client)) return client;
    // Walk X-Forwarded-For from the right: each hop was appended by the proxy before it.
    // Stop at the first address not ours; everything left of it is client-controlled.
    const hops = (headers.get('x-forwarded-for') ?? '').split(',').map(normalize).filter((h) => h !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (isIP(hop) === 0) return client;
      client = hop;
      if (!isTrusted(hop)) return hop;
    }
    return client;
  };
}
