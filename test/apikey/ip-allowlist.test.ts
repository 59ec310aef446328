// IP allowlists per key: CIDR ranges (IPv4, IPv6) validated on create and update, shown on the key,
// enforced from the cached record (no query when warm) over REST and gRPC; the client address is
// the socket's, or X-Forwarded-For only when the hop is a TRUSTED_PROXIES address.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { writePolicy } from '../gateway/fixtures.js';
import type { TestUser } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { cookie, countQueries, createKey, newUser, startWorld, type World, xApiKey } from './fixtures.js';

let direct: World; // no trusted proxy: the socket address (127.0.0.1) is the client
let proxied: World; // TRUSTED_PROXIES=127.0.0.1: X-Forwarded-For is believed
let du: TestUser;
let pu: TestUser;

beforeAll(async () => {
  direct = await startWorld();
  // The proxied server also guards a product route (forward-auth), which shares the key verifier.
  proxied = await startWorld({ TRUSTED_PROXIES: '127.0.0.1', GATEWAY_POLICY: (await writePolicy()).file });
  du = await newUser(direct, 'Direct');
  pu = await newUser(proxied, 'Proxied');
});
afterAll(async () => {
  await direct?.stop();
  await proxied?.stop();
});

const me = (w: World, key: string, xff?: string) => rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(key, xff ? { 'x-forwarded-for': xff } : {}) });
const grpcMe = (w: World, key: string, xff?: string) => client(AuthService, w.url, 'grpc').getMe({}, { headers: { 'x-api-key': key, ...(xff ? { 'x-forwarded-for': xff } : {}) } });

describe('validation', () => {
  it('refuses a range that is not a CIDR on create and update, naming the field', async () => {
    for (const bad of ['10.0.0.0/33', 'not-an-ip', '2001:db8::/129', '10.0.0.1/8/1']) {
      const r = await rest(direct.url, 'POST', '/api/auth/api-key/create', { headers: cookie(du), body: { name: 'x', ipAllowlist: { cidrs: ['10.0.0.0/8', bad] } } });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 'VALIDATION_ERROR', field: 'ipAllowlist.cidrs[1]' });
    }
    const k = await createKey(direct, cookie(du), { scopes: ['user:read'] });
    const r = await rest(direct.url, 'PATCH', `/api-key/${k.id}`, { headers: cookie(du, { orgid: du.organizationId }), body: { ipAllowlist: { cidrs: ['300.1.2.3'] } } });
    expect(r.status).toBe(400);
    expect(r.body.field).toBe('ipAllowlist.cidrs[0]');
  });

  it('stores and shows the ranges (a bare address becomes /32 or /128)', async () => {
    const k = await createKey(direct, cookie(du), { scopes: ['user:read'], ipAllowlist: { cidrs: ['127.0.0.1', '2001:db8::/32', '10.0.0.0/8'] } });
    expect(k.apiKey.ipAllowlist).toEqual({ cidrs: ['127.0.0.1/32', '2001:db8::/32', '10.0.0.0/8'] });
    const got = await rest(direct.url, 'GET', `/api-key/${k.id}`, { headers: cookie(du, { orgid: du.organizationId }) });
    expect(got.body.data.ipAllowlist.cidrs).toEqual(['127.0.0.1/32', '2001:db8::/32', '10.0.0.0/8']);
  });
});

describe('without a trusted proxy', () => {
  it('the socket address decides, and a forged X-Forwarded-For changes nothing (REST and gRPC)', async () => {
    const home = await createKey(direct, cookie(du), { scopes: ['user:read'], ipAllowlist: { cidrs: ['127.0.0.0/8'] } });
    const away = await createKey(direct, cookie(du), { scopes: ['user:read'], ipAllowlist: { cidrs: ['203.0.113.0/24'] } });
    expect((await me(direct, home.key)).status).toBe(200);
    expect((await me(direct, home.key, '198.51.100.1')).status).toBe(200);
    expect((await grpcMe(direct, home.key)).user?.id).toBe(du.userId);
    const r = await me(direct, away.key, '203.0.113.7');
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'FORBIDDEN', reason: 'IP_NOT_ALLOWED', message: 'This API key may not be used from 127.0.0.1: the address is not in its IP allowlist' });
    const e = await grpcMe(direct, away.key, '203.0.113.7').catch((x) => ConnectError.from(x));
    expect(e).toBeInstanceOf(ConnectError);
    expect((e as ConnectError).code).toBe(Code.PermissionDenied);
    expect((e as ConnectError).rawMessage).toMatch(/not in its IP allowlist/);
  });

  it('is enforced from the cached record: no query when warm', async () => {
    const away = await createKey(direct, cookie(du), { scopes: ['user:read'], ipAllowlist: { cidrs: ['203.0.113.0/24'] } });
    await me(direct, away.key);
    const { count, result } = await countQueries(direct, () => me(direct, away.key));
    expect(result.status).toBe(403);
    expect(count).toBe(0);
  });
});

describe('behind a trusted proxy', () => {
  it('the forwarded client address decides, IPv4 and IPv6 (REST and gRPC)', async () => {
    const k = await createKey(proxied, cookie(pu), { scopes: ['user:read'], ipAllowlist: { cidrs: ['203.0.113.0/24', '2001:db8::/32'] } });
    expect((await me(proxied, k.key, '203.0.113.9')).status).toBe(200);
    expect((await me(proxied, k.key, '2001:db8:5::1')).status).toBe(200);
    expect((await grpcMe(proxied, k.key, '203.0.113.10')).user?.id).toBe(pu.userId);
    const refused = await me(proxied, k.key, '198.51.100.4');
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain('198.51.100.4');
    expect((await me(proxied, k.key, '2001:db9::1')).status).toBe(403);
    expect((await me(proxied, k.key)).status).toBe(403); // the proxy itself (127.0.0.1) is not in the list
    const g = await grpcMe(proxied, k.key, '198.51.100.4').catch((x) => ConnectError.from(x));
    expect((g as ConnectError).code).toBe(Code.PermissionDenied);
  });

  it('an update replaces the list at once, and {"cidrs": []} removes it', async () => {
    const k = await createKey(proxied, cookie(pu), { scopes: ['user:read'], ipAllowlist: { cidrs: ['203.0.113.0/24'] } });
    expect((await me(proxied, k.key, '198.51.100.4')).status).toBe(403);
    const h = cookie(pu, { orgid: pu.organizationId });
    const moved = await rest(proxied.url, 'PATCH', `/api-key/${k.id}`, { headers: h, body: { ipAllowlist: { cidrs: ['198.51.100.0/24'] } } });
    expect(moved.body.data.ipAllowlist.cidrs).toEqual(['198.51.100.0/24']);
    expect((await me(proxied, k.key, '198.51.100.4')).status).toBe(200);
    expect((await me(proxied, k.key, '203.0.113.9')).status).toBe(403);
    const open = await rest(proxied.url, 'PATCH', `/api-key/${k.id}`, { headers: h, body: { ipAllowlist: { cidrs: [] } } });
    expect(open.body.data.ipAllowlist).toBeUndefined();
    expect((await me(proxied, k.key, '203.0.113.9')).status).toBe(200);
  });

  it("forward-auth (the gateway's key check) enforces it on the client address the proxy forwards", async () => {
    const k = await createKey(proxied, cookie(pu), { scopes: ['user:read'], ipAllowlist: { cidrs: ['203.0.113.0/24'] } });
    const ask = (xff: string) =>
      rest(proxied.url, 'GET', '/api/authz/forward-auth', { headers: { 'x-api-key': k.key, 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/customer', 'x-forwarded-for': xff } });
    expect((await ask('203.0.113.9')).status).toBe(200);
    const refused = await ask('198.51.100.4');
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('IP allowlist');
  });

  it('VerifyApiKey checks the address the caller names', async () => {
    const introspector = (await createKey(proxied, cookie(pu, { orgid: pu.organizationId }), { scopes: ['introspect'] })).key;
    const k = await createKey(proxied, cookie(pu, { orgid: pu.organizationId }), { ipAllowlist: { cidrs: ['203.0.113.0/24'] } });
    const verify = (ip: string) => client(ApiKeyService, proxied.url, 'grpc').verifyApiKey({ key: k.key, ip }, { headers: { 'x-api-key': introspector } });
    expect(await verify('203.0.113.1')).toMatchObject({ valid: true, code: 'VALID' });
    expect(await verify('198.51.100.1')).toMatchObject({ valid: false, code: 'FORBIDDEN' });
    expect(await verify('')).toMatchObject({ valid: false, code: 'FORBIDDEN' });
  });
});
