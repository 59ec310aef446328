// Domain ownership: the `_latchkey-challenge.<domain>` TXT record, read through DNS_SERVERS when
// set (so tests and private deployments use their own resolver), else the system's resolvers.
import { Resolver } from 'node:dns/promises';
import { DomainError } from '../common/errors.js';

export interface TxtResolver {
  /** Every TXT string of the name (chunks joined); empty when there is none. */
  txt(name: string): Promise<string[]>;
}

export const challengeName = (domain: string) => `_latchkey-challenge.${domain}`;

/** No such name or no TXT data is "not found", not an error; a resolver outage is. */
const ABSENT = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'NXDOMAIN']);

export function dnsResolver(servers: string[], timeoutMs = 3_000): TxtResolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length) resolver.setServers(servers);
  return {
    async txt(name) {
      try {
        return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
      } catch (e) {
        if (ABSENT.has((e as NodeJS.ErrnoException).code ?? '')) return [];
        throw new DomainError('UNAVAILABLE', 'The DNS lookup failed; retry shortly');
      }
    },
  };
}
