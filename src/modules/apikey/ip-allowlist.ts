// A key's IP allowlist: CIDR ranges (IPv4 and IPv6; a bare address is a /32 or /128), compiled once
// into a node:net BlockList when the key record is loaded, so the hot path checks an address
// without parsing the list again. Also the network (/24, /48) an address belongs to, for new-source alerts.
import net from 'node:net';
import { invalid } from '../common/errors.js';

const MAX_RANGES = 100;

interface Range {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function parse(raw: string): Range | undefined {
  const [address, bits, extra] = raw.split('/');
  if (extra !== undefined) return undefined;
  const v = net.isIP(address);
  if (!v) return undefined;
  const max = v === 4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = bits === undefined ? max : Number(bits);
  if (prefix > max) return undefined;
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** The list as stored: trimmed, each range valid, without duplicates; 400 naming the bad entry. */
export function allowlistOf(raw: readonly string[], field: string): string[] {
  if (raw.length > MAX_RANGES) throw invalid(field, `must have at most ${MAX_RANGES} ranges`);
  const out: string[] = [];
  raw.forEach((r, i) => {
    const s = r.trim();
    const range = parse(s);
    if (!range) throw invalid(`${field}[${i}]`, 'must be an IPv4 or IPv6 address or CIDR range, e.g. 203.0.113.0/24 or 2001:db8::/32');
    const canonical = `${range.address}/${range.prefix}`;
    if (!out.includes(canonical)) out.push(canonical);
  });
  return out;
}

/**
 * True when every range of `inner` lies inside one range of `outer` (lists as stored, both non-empty
 * to mean anything: an empty list is "anywhere", inside nothing but an empty `outer`).
 */
export function within(inner: readonly string[], outer: readonly string[]): boolean {
  if (!outer.length) return true;
  if (!inner.length) return false;
  const ranges = outer.map(parse).filter((r): r is Range => !!r);
  return inner.every((raw) => {
    const r = parse(raw);
    // r fits in o when o is no narrower and holds r's address: r lies in the one /o.prefix block holding it.
    return !!r && ranges.some((o) => o.family === r.family && o.prefix <= r.prefix && compileAllowlist([`${o.address}/${o.prefix}`])!.check(r.address, r.family));
  });
}

/** A matcher for a stored list; null when the key may be used from anywhere. */
export function compileAllowlist(list: readonly string[] | null): net.BlockList | null {
  if (!list?.length) return null;
  const b = new net.BlockList();
  for (const s of list) {
    const r = parse(s);
    if (r) b.addSubnet(r.address, r.prefix, r.family);
  }
  return b;
}

/** True when `ip` (as the server resolved it, X-Forwarded-For only from TRUSTED_PROXIES) is in the list. */
export function allows(list: net.BlockList, ip: string): boolean {
  const v = net.isIP(ip);
  if (!v) return false;
  if (list.check(ip, v === 4 ? 'ipv4' : 'ipv6')) return true;
  // An IPv4 client seen on an IPv6 socket (::ffff:a.b.c.d) matches IPv4 ranges.
  if (v === 6 && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip)) return list.check(ip.slice(7), 'ipv4');
  return false;
}

/** The /24 (IPv4) or /48 (IPv6) network of an address, e.g. "203.0.113.0/24"; undefined for a non-address. */
export function networkOf(ip: string): string | undefined {
  const v = net.isIP(ip);
  if (v === 4) return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
  if (v !== 6) return undefined;
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip)) return networkOf(ip.slice(7));
  // Expand "::" to get the first three groups.
  const [head, tail] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const first = groups.slice(0, 3).map((g) => (g.includes('.') ? '0' : String(parseInt(g, 16).toString(16))));
  return `${first.join(':')}::/48`;
}
