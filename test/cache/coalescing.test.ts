// Concurrent misses share one load on the real server: when the entries for a user expire under 50
// connections, each cache sends its query once (GetMe by JWT sent 150 before: 50 × session, user,
// membership count). Expiry is reached by advancing the server's clock, not by waiting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { accessTokenOf, cookie, countQueries, createKey, newUser, startWorld, type World } from '../apikey/fixtures.js';
import type { TestUser } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';

let w: World;
let u: TestUser;
beforeAll(async () => {
  w = await startWorld();
  u = await newUser(w, 'Coalesced');
});
afterAll(() => w?.stop());

/** Every cache entry of the server is past its TTL (the longest is a minute). */
const expireEverything = () => w.server.clock.advance(61);
const fifty = <T>(fn: () => Promise<T>) => Promise.all(Array.from({ length: 50 }, fn));

describe('50 concurrent requests on cold caches', () => {
  it('GetMe by JWT: each statement is sent once (session, user, membership count)', async () => {
    const jwt = await accessTokenOf(w, u);
    const me = () => rest(w.url, 'GET', '/api/user/me', { headers: { authorization: `Bearer ${jwt}` } });
    expect((await me()).status).toBe(200);
    expireEverything();
    const { sql, result } = await countQueries(w, () => fifty(me));
    expect(result.every((r) => r.status === 200)).toBe(true);
    const reads = sql.filter((q) => /^select/i.test(q));
    expect(reads.length).toBe(3);
    expect(reads.filter((q) => /from "?sessions"?/i.test(q)).length).toBe(1);
    expect(sql.length).toBeLessThanOrEqual(4); // + one last_seen_at touch at most
    // Warm again: nothing.
    expect((await countQueries(w, () => fifty(me))).count).toBe(0);
  });

  it('GetMe by session cookie: the same', async () => {
    const me = () => rest(w.url, 'GET', '/api/user/me', { headers: cookie(u) });
    expect((await me()).status).toBe(200);
    expireEverything();
    const { sql, result } = await countQueries(w, () => fifty(me));
    expect(result.every((r) => r.status === 200)).toBe(true);
    expect(sql.filter((q) => /^select/i.test(q)).length).toBe(3);
    expect(new Set(sql).size).toBe(sql.length);
  });

  it('VerifyApiKey for one cold key: one query', async () => {
    const introspector = (await createKey(w, cookie(u, { orgid: u.organizationId }), { scopes: ['introspect'] })).key;
    const k = await createKey(w, cookie(u, { orgid: u.organizationId }), { scopes: ['read'] });
    const verify = (key: string) => client(ApiKeyService, w.url, 'grpc').verifyApiKey({ key }, { headers: { 'x-api-key': introspector } });
    expect((await verify(k.key)).valid).toBe(true);
    expireEverything();
    await verify(introspector); // the caller's own key and role: warm again
    const { sql, result } = await countQueries(w, () => fifty(() => verify(k.key)));
    expect(result.every((r) => r.valid)).toBe(true);
    expect(sql.filter((q) => /api_keys/.test(q)).length).toBe(1);
  });
});
