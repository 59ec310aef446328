// Usage over time: verifications of mixed outcomes counted in memory, flushed behind the requests
// and read back exactly with GetApiKeyUsage (per key and per organization, minute and hour); the
// hot path stays free of SQL; minutes roll up into hours (also with two roll-ups at once) and
// buckets older than 90 days go.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService, UsageResolution } from '../../gen/latchkey/v1/api_key_pb.js';
import type { TestUser } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { cookie, countQueries, createKey, join, newUser, startWorld, type World } from './fixtures.js';

let w: World;
let admin: TestUser;
let member: TestUser;
let introspector: string;
let keys: Record<string, { id: string; key: string }>;
const seen: Record<string, Record<string, number>> = {};
const CODE_COLUMN: Record<string, string> = {
  VALID: 'valid',
  RATE_LIMITED: 'rateLimited',
  USAGE_EXCEEDED: 'usageExceeded',
  EXPIRED: 'expired',
  REVOKED: 'revoked',
  DISABLED: 'disabled',
  FORBIDDEN: 'forbidden',
  INSUFFICIENT_SCOPE: 'forbidden',
};
let startedAt: Date;

let rpc: ReturnType<typeof client<typeof ApiKeyService>>;
const grpc = () => rpc;
const h = (u: TestUser) => ({ headers: { cookie: u.cookie, orgid: u.organizationId } });

beforeAll(async () => {
  w = await startWorld();
  rpc = client(ApiKeyService, w.url, 'grpc');
  admin = await newUser(w, 'Usage Admin');
  member = await newUser(w, 'Usage Member');
  await join(w, admin, admin.organizationId, member, 'member');
  const org = cookie(admin, { orgid: admin.organizationId });
  introspector = (await createKey(w, org, { scopes: ['introspect'] })).key;
  keys = {
    plain: await createKey(w, org, { name: 'plain', scopes: ['read'] }),
    limited: await createKey(w, org, { name: 'limited', rateLimit: { requestsPerMinute: 20 } }),
    budget: await createKey(w, org, { name: 'budget', remaining: 30 }),
    expiring: await createKey(w, org, { name: 'expiring', expiresIn: 600 }),
    revoked: await createKey(w, org, { name: 'revoked' }),
    disabled: await createKey(w, org, { name: 'disabled' }),
    fenced: await createKey(w, org, { name: 'fenced', ipAllowlist: { cidrs: ['203.0.113.0/24'] } }),
    members: await createKey(w, cookie(member, { orgid: admin.organizationId }), { name: "member's" }),
  };
  expect((await rest(w.url, 'DELETE', `/api-key/${keys.revoked.id}`, { headers: org })).status).toBe(200);
  expect((await rest(w.url, 'PATCH', `/api-key/${keys.disabled.id}`, { headers: org, body: { enabled: false } })).status).toBe(200);
  startedAt = w.server.clock.now();
});
afterAll(async () => {
  await w?.stop();
});

async function verifyMany(name: string, n: number, extra: { ip?: string; requiredScopes?: string[] } = {}): Promise<void> {
  const counts = (seen[keys[name].id] ??= {});
  for (let i = 0; i < n; i += 25) {
    const batch = Array.from({ length: Math.min(25, n - i) }, () => grpc().verifyApiKey({ key: keys[name].key, ...extra }, { headers: { 'x-api-key': introspector } }));
    for (const r of await Promise.all(batch)) {
      const col = CODE_COLUMN[r.code];
      counts[col] = (counts[col] ?? 0) + 1;
    }
  }
}

const usageOf = (keyId: string, resolution = UsageResolution.MINUTE, from = startedAt, hours = 2) =>
  grpc().getApiKeyUsage(
    { keyId, resolution, startTime: timestampFromDate(new Date(from.getTime() - 3_600_000)), endTime: timestampFromDate(new Date(from.getTime() + hours * 3_600_000)) },
    { headers: { cookie: admin.cookie } },
  );

const totalsOf = (t: any) => Object.fromEntries(Object.entries(CODE_COLUMN).map(([, c]) => [c, Number(t?.[c] ?? 0)]));
const expected = (keyId: string) => Object.fromEntries(Object.values(CODE_COLUMN).map((c) => [c, seen[keyId]?.[c] ?? 0]));

describe('GetApiKeyUsage', () => {
  it('counts 1,000 verifications of mixed outcomes exactly, per key and per organization', async () => {
    await verifyMany('plain', 300);
    await verifyMany('plain', 50, { requiredScopes: ['members:write'] }); // forbidden: a scope the key lacks
    await verifyMany('limited', 150);
    await verifyMany('budget', 100);
    await verifyMany('revoked', 80);
    await verifyMany('disabled', 70);
    await verifyMany('fenced', 60, { ip: '198.51.100.7' });
    await verifyMany('fenced', 40, { ip: '203.0.113.9' });
    await verifyMany('members', 50);
    w.server.clock.advance(601);
    try {
      await verifyMany('expiring', 100);
    } finally {
      w.server.clock.advance(-601);
    }
    const all = Object.values(seen).reduce((n, c) => n + Object.values(c).reduce((a, b) => a + b, 0), 0);
    expect(all).toBe(1000);
    for (const c of ['valid', 'rateLimited', 'usageExceeded', 'expired', 'revoked', 'disabled', 'forbidden']) {
      expect(Object.values(seen).some((s) => (s[c] ?? 0) > 0)).toBe(true); // every outcome occurs
    }
    await w.server.deps.apiKeys.usage.flush();

    for (const name of Object.keys(keys)) {
      const id = keys[name].id;
      const minute = await usageOf(id);
      expect(totalsOf(minute.totals)).toEqual(expected(id));
      expect(minute.resolution).toBe(UsageResolution.MINUTE);
      // Every minute of the range (3 hours, its ends rounded out to whole minutes), empty ones too.
      expect(minute.buckets.length).toBeGreaterThanOrEqual(180);
      expect(minute.buckets.length).toBeLessThanOrEqual(181);
      const starts = minute.buckets.map((b) => Number(b.startTime!.seconds));
      expect(starts.slice(1).every((t, i) => t - starts[i] === 60)).toBe(true);
      const hour = await usageOf(id, UsageResolution.HOUR);
      expect(totalsOf(hour.totals)).toEqual(expected(id));
    }
    // REST, the whole organization for an admin: every key's counts together.
    // The same explicit range as the per-key queries: the default range ends now, and the uses made
    // with the clock 601 s ahead fall in the next hour whenever now + 10 min crosses one.
    const range = `startTime=${new Date(startedAt.getTime() - 3_600_000).toISOString()}&endTime=${new Date(startedAt.getTime() + 2 * 3_600_000).toISOString()}`;
    const r = await rest(w.url, 'GET', `/api/user/organizations/${admin.organizationId}/api-key-usage?resolution=USAGE_RESOLUTION_HOUR&${range}`, { headers: { cookie: admin.cookie } });
    expect(r.status).toBe(200);
    const sum: Record<string, number> = {};
    for (const k of Object.values(keys)) for (const [c, n] of Object.entries(expected(k.id))) sum[c] = (sum[c] ?? 0) + n;
    sum.valid += 1000; // the introspector's own uses
    expect(totalsOf(r.body.data.totals)).toEqual(sum);
    // A member counts only the keys they created.
    const mine = await rest(w.url, 'GET', `/api/user/organizations/${admin.organizationId}/api-key-usage?${range}`, { headers: { cookie: member.cookie } });
    expect(totalsOf(mine.body.data.totals)).toEqual(expected(keys.members.id));
  });

  it('one key follows GetApiKey access: 404 for a key the caller may not see', async () => {
    const other = await newUser(w, 'Usage Stranger');
    const denied = await rest(w.url, 'GET', `/api-key/${keys.plain.id}/usage`, h(other));
    expect(denied.status).toBe(404);
    const byMember = await rest(w.url, 'GET', `/api-key/${keys.plain.id}/usage`, { headers: { cookie: member.cookie, orgid: admin.organizationId } });
    expect(byMember.status).toBe(404);
    expect((await rest(w.url, 'GET', `/api-key/${keys.plain.id}/usage`, { headers: { cookie: admin.cookie } })).status).toBe(200);
    const ok = await rest(w.url, 'GET', `/api-key/${keys.members.id}/usage?resolution=USAGE_RESOLUTION_MINUTE`, { headers: { cookie: member.cookie, orgid: admin.organizationId } });
    expect(ok.status).toBe(200);
  });

  it('refuses bad ranges with 400 naming the field', async () => {
    const now = w.server.clock.now().getTime();
    const long = await rest(w.url, 'GET', `/api-key/${keys.plain.id}/usage?resolution=USAGE_RESOLUTION_MINUTE&startTime=${new Date(now - 3 * 86_400_000).toISOString()}`, h(admin));
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ code: 'VALIDATION_ERROR', field: 'startTime' });
    const backwards = await rest(w.url, 'GET', `/api-key/${keys.plain.id}/usage?startTime=${new Date(now).toISOString()}&endTime=${new Date(now - 7_200_000).toISOString()}`, h(admin));
    expect(backwards.body).toMatchObject({ status: 400, field: 'endTime' });
  });

  it('the hot path sends no SQL when warm, whatever the outcome', async () => {
    await verifyMany('plain', 5);
    await verifyMany('limited', 5);
    const { count } = await countQueries(w, async () => {
      await verifyMany('plain', 50);
      await verifyMany('limited', 50);
      await verifyMany('fenced', 20, { ip: '198.51.100.7' });
      await verifyMany('disabled', 20);
    });
    expect(count).toBe(0);
    await w.server.deps.apiKeys.usage.flush();
    expect(totalsOf((await usageOf(keys.plain.id)).totals)).toEqual(expected(keys.plain.id));
  });

  it('rolls minutes up into hours (two roll-ups at once count each minute once) and drops buckets after 90 days', async () => {
    const usage = w.server.deps.apiKeys.usage;
    await usage.flush();
    const before = totalsOf((await usageOf(keys.plain.id, UsageResolution.HOUR)).totals);
    const later = w.server.clock.now().getTime() + 26 * 3_600_000;
    await Promise.all([usage.rollup(later), usage.rollup(later)]);
    const conn = w.server.deps.db.orm.em.fork().getConnection();
    const rows = await conn.execute<{ resolution: string; n: string }[]>(`select resolution, count(*) as n from api_key_usage where key_id = ? group by 1`, [keys.plain.id]);
    expect(rows.map((r) => r.resolution)).toEqual(['hour']);
    expect(totalsOf((await usageOf(keys.plain.id, UsageResolution.HOUR)).totals)).toEqual(before);
    await usage.rollup(w.server.clock.now().getTime() + 91 * 86_400_000);
    expect(totalsOf((await usageOf(keys.plain.id, UsageResolution.HOUR)).totals).valid).toBe(0);
  });
});
