// Webhook receivers must be on the public internet: an endpoint on a private, loopback or link-local
// address would let an organization admin make Latchkey probe its own network (SSRF). Checked when an
// endpoint is saved and again on every connection (the resolved address is the one connected to,
// so a DNS answer that changes after the check cannot slip through).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  blocked.addSubnet(net, bits, 'ipv6');

/** True for an address no webhook may be sent to (IPv4-mapped IPv6 is judged by its IPv4 part). */
function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1], 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class AddressRefused extends Error {}

const hostOf = (u: URL) => u.hostname.replace(/^\[|\]$/g, '');

/** Every address `url`'s host resolves to (an IP literal is its own); refuses when one is private. */
export async function checkAddress(url: URL): Promise<void> {
  const host = hostOf(url);
  const addresses = isIP(host) ? [host] : await resolveAll(host);
  if (addresses.length === 0) throw new AddressRefused(`${host} does not resolve`);
  const bad = addresses.find(isPrivateAddress);
  if (bad) throw new AddressRefused(`${host} resolves to ${bad}, a private, loopback or link-local address`);
}

function resolveAll(host: string): Promise<string[]> {
  return new Promise((resolve) => dnsLookup(host, { all: true }, (err, list) => resolve(err ? [] : list.map((a) => a.address))));
}

/** A `lookup` for undici's connector: the connection is made only to public addresses. */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, list: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad || list.length === 0) return callback(new AddressRefused(`${hostname} resolves to ${bad?.address ?? 'nothing'}, a private, loopback or link-local address`), '', 0);
    if (options.all) return (callback as unknown as (e: null, l: LookupAddress[]) => void)(null, list);
    callback(null, list[0].address, list[0].family);
  });
};
