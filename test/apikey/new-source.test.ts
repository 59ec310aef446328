// New-source alerts: the first use of a key from a network (/24 IPv4, /48 IPv6) it has not been used
// from in 30 days writes one `api_key.new_source` audit event, decided in the flusher (off the hot
// path) against the networks kept in api_key_sources; never twice for one key and network in a day,
// even when another replica (no shared memory) flushes the same observation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { cookie, countQueries, createKey, newUser, startWorld, type World, xApiKey } from './fixtures.js';

let w: World;
let u: TestUser;

beforeAll(async () => {
  w = await startWorld({ TRUSTED_PROXIES: '127.0.0.1' });
  u = await newUser(w, 'Sources');
});
afterAll(async () => {
  await w?.stop();
});

const callFrom = async (key: string, ip: string) => expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(key, { 'x-forwarded-for': ip }) })).status).toBe(200);
const flush = () => w.server.deps.apiKeys.usage.flush();
async function newSources(keyId: string): Promise<any[]> {
  const r = await rest(w.url, 'GET', `/api/user/organizations/${u.organizationId}/audit-events?type=api_key.new_source&pageSize=100`, { headers: cookie(u) });
  expect(r.status).toBe(200);
  return r.body.data.auditEvents.filter((e: any) => e.targetId === keyId);
}

describe('api_key.new_source', () => {
  it('one event per new network, IPv4 /24 and IPv6 /48, none for another address of a known network', async () => {
    const k = await createKey(w, cookie(u, { orgid: u.organizationId }), { scopes: ['user:read'] });
    await callFrom(k.key, '203.0.113.5');
    await flush();
    const first = await newSources(k.id);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ actorType: 'api_key', actorId: k.id, ip: '203.0.113.5', metadata: { network: '203.0.113.0/24', ip: '203.0.113.5' } });

    // The request path records the address in memory only.
    const q = await countQueries(w, () => callFrom(k.key, '203.0.113.77'));
    expect(q.count).toBe(0);
    await callFrom(k.key, '198.51.100.20');
    await callFrom(k.key, '2001:db8:1:2::5');
    await callFrom(k.key, '2001:db8:1:ffff::1');
    await flush();
    const events = await newSources(k.id);
    expect(events.map((e: any) => e.metadata.network).sort()).toEqual(['198.51.100.0/24', '2001:db8:1::/48', '203.0.113.0/24']);
    const rows = await w.server.deps.db.orm.em.fork().getConnection().execute<{ network: string }[]>('select network from api_key_sources where key_id = ? order by network', [k.id]);
    expect(rows.map((r) => r.network)).toEqual(['198.51.100.0/24', '2001:db8:1::/48', '203.0.113.0/24']);
  });

  it('at most once per key and network per day, also when another replica flushes the same use', async () => {
    const k = await createKey(w, cookie(u, { orgid: u.organizationId }), { scopes: ['user:read'] });
    await callFrom(k.key, '192.0.2.10');
    await flush();
    // What a second replica does: the same observation, without this process's memory of having written it.
    (w.server.deps.apiKeys.usage as unknown as { sourcesWritten: Map<string, number> }).sourcesWritten.clear();
    await callFrom(k.key, '192.0.2.11');
    await flush();
    w.server.clock.advance(3 * 3600);
    try {
      await callFrom(k.key, '192.0.2.12');
      await flush();
    } finally {
      w.server.clock.advance(-3 * 3600);
    }
    expect(await newSources(k.id)).toHaveLength(1);
  });

  it('a network not seen for 30 days is new again', async () => {
    const k = await createKey(w, cookie(u, { orgid: u.organizationId }), { scopes: ['user:read'] });
    await callFrom(k.key, '198.51.100.9');
    await flush();
    w.server.clock.advance(29 * 86_400);
    try {
      await callFrom(k.key, '198.51.100.9');
      await flush();
      expect(await newSources(k.id)).toHaveLength(1); // seen 29 days ago: not new
      w.server.clock.advance(31 * 86_400);
      await callFrom(k.key, '198.51.100.10');
      await flush();
      await callFrom(k.key, '198.51.100.11');
      await flush();
    } finally {
      w.server.clock.advance(-60 * 86_400);
    }
    const events = await newSources(k.id);
    expect(events).toHaveLength(2);
    expect(events.every((e: any) => e.metadata.network === '198.51.100.0/24')).toBe(true);
  });
});
