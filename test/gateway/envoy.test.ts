// Envoy's ext_authz over gRPC: envoy.service.auth.v3.Authorization/Check called with the Connect gRPC
// client built from the declared messages, as Envoy's filter sends it (headers lower-cased, path
// with query). Allowed: OK with the identity headers set upstream and the credential removed.
// Denied: the gRPC code and the HTTP status, headers and envelope Envoy answers the client with.
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeaderValueOption_HeaderAppendAction } from '../../gen/envoy/config/core/v3/base_pb.js';
import { Authorization } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { cookie, countQueries, newUser, startWorld, type World } from '../apikey/fixtures.js';
import { rest } from '../helpers/clients.js';
import { gatewayEnv, verifyAssertion, writePolicy } from './fixtures.js';
import { type SeedKeys, seedKeys } from './seeds.js';

describe('Envoy ext_authz Check over gRPC', () => {
  let w: World;
  let s: SeedKeys;
  let envoy: ReturnType<typeof createClient<typeof Authorization>>;

  beforeAll(async () => {
    const { file } = await writePolicy();
    w = await startWorld(gatewayEnv(file));
    s = await seedKeys(w);
    envoy = createClient(Authorization, createGrpcTransport({ baseUrl: w.url }));
  }, 180_000);
  afterAll(async () => {
    await w?.stop();
  });

  const check = (method: string, path: string, headers: Record<string, string>) =>
    envoy.check({
      attributes: {
        source: { address: { address: { case: 'socketAddress', value: { address: '10.0.0.7', portSpecifier: { case: 'portValue', value: 51234 } } } } },
        request: {
          http: {
            id: 'req-1',
            method,
            path,
            host: 'api.example.com',
            scheme: 'https',
            protocol: 'HTTP/1.1',
            headers: { ':authority': 'api.example.com', ':path': path, ':method': method, ...headers },
          },
        },
      },
    });

  const okHeaders = (r: Awaited<ReturnType<typeof check>>) => {
    if (r.httpResponse.case !== 'okResponse') throw new Error(`not ok: ${JSON.stringify(r.status)}`);
    const out: Record<string, string> = {};
    for (const h of r.httpResponse.value.headers) {
      expect(h.appendAction).toBe(HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD);
      out[h.header!.key] = h.header!.value;
    }
    return { set: out, removed: r.httpResponse.value.headersToRemove };
  };

  it('allowed: seed 001 with x-api-key → OK, identity headers overwrite, the key header is removed', async () => {
    const r = await check('GET', `/api/user/organizations/${s.orgId}/projects?page=2`, { 'x-api-key': s.pat.key, 'x-latchkey-actor': 'forged' });
    expect(r.status?.code).toBe(0);
    const { set, removed } = okHeaders(r);
    expect(set).toMatchObject({ 'x-latchkey-user-id': s.user.userId, 'x-latchkey-organization-id': s.orgId, 'x-latchkey-key-id': s.pat.id });
    expect(set['x-latchkey-scopes'].split(' ')).toContain('projects:read');
    expect(removed).toEqual(expect.arrayContaining(['x-api-key', 'x-latchkey-actor']));
    expect(await verifyAssertion(w.url, set['x-latchkey-assertion'])).toMatchObject({ sub: s.user.userId, route: 'GET /api/user/organizations/{organization_id}/projects' });
  });

  it('allowed: seed 002 with Authorization: Bearer removes Authorization; a session cookie is cut out of Cookie', async () => {
    const bearer = okHeaders(await check('GET', '/customer', { authorization: `Bearer ${s.bearer.key}` }));
    expect(bearer.removed).toContain('authorization');
    const session = okHeaders(await check('GET', '/customer', { cookie: `a=1; ${s.user.cookie}` }));
    expect(session.set.cookie).toBe('a=1');
    expect(session.set['x-latchkey-user-id']).toBe(s.user.userId);
  });

  it('denied: no credential → UNAUTHENTICATED, HTTP 401 with the envelope', async () => {
    const r = await check('GET', '/customer', {});
    expect(r.status?.code).toBe(16);
    expect(r.httpResponse.case).toBe('deniedResponse');
    if (r.httpResponse.case !== 'deniedResponse') return;
    expect(r.httpResponse.value.status?.code).toBe(401);
    expect(JSON.parse(r.httpResponse.value.body)).toEqual({ success: false, status: 401, code: 'UNAUTHORIZED', message: 'Missing Authorization header', reason: 'CREDENTIAL_MISSING' });
    expect(r.httpResponse.value.headers.find((h) => h.header?.key === 'content-type')?.header?.value).toBe('application/json');
  });

  it('denied: pinned elsewhere 403, missing orgid 400, unknown route 404, rate limited 429 with headers', async () => {
    const denied = async (method: string, path: string, headers: Record<string, string>) => {
      const r = await check(method, path, headers);
      if (r.httpResponse.case !== 'deniedResponse') throw new Error('allowed');
      const v = r.httpResponse.value;
      return { grpc: r.status!.code, http: v.status!.code as number, body: JSON.parse(v.body), headers: Object.fromEntries(v.headers.map((h) => [h.header!.key, h.header!.value])) };
    };
    expect(await denied('GET', `/api/user/organizations/${s.otherOrgId}/projects`, { 'x-api-key': s.pinned.key })).toMatchObject({ grpc: 7, http: 403 });
    expect(await denied('GET', '/data/contact', { 'x-api-key': s.orgKey.key })).toMatchObject({ grpc: 3, http: 400, body: { message: 'Missing orgid or x-organization-id header' } });
    expect(await denied('GET', '/elsewhere', { 'x-api-key': s.orgKey.key })).toMatchObject({ grpc: 5, http: 404 });
    const h = { 'x-api-key': s.limited.key, orgid: s.orgId };
    expect((await check('GET', '/data/contact', h)).status?.code).toBe(0);
    expect((await check('GET', '/data/contact', h)).status?.code).toBe(0);
    const limited = await denied('GET', '/data/contact', h);
    expect(limited).toMatchObject({ grpc: 8, http: 429, headers: { 'ratelimit-limit': '2', 'ratelimit-remaining': '0' } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  const forwardAuth = (headers: Record<string, string>) => fetch(`${w.url}/api/authz/forward-auth`, { headers });

  it('warm, a decision costs no database round trip and no write (forward-auth and Check alike)', async () => {
    const asked = {
      'x-api-key': s.pat.key,
      'x-forwarded-method': 'GET',
      'x-forwarded-uri': `/api/user/organizations/${s.orgId}/projects`,
      'x-forwarded-host': 'api.example.com',
      'x-forwarded-proto': 'https',
    };
    expect((await forwardAuth(asked)).status).toBe(200); // warms the key, the role and the assertion
    // last_used_at is written behind, once a minute per key, by a background batch: flush it first.
    await w.server.deps.apiKeys.usage.flush();
    const { count, sql } = await countQueries(w, async () => {
      for (let i = 0; i < 5; i++) expect((await forwardAuth(asked)).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await check('GET', `/api/user/organizations/${s.orgId}/projects`, { 'x-api-key': s.pat.key })).status?.code).toBe(0);
    });
    expect(sql).toEqual([]);
    expect(count).toBe(0);
  });

  it("forward-auth applies the organization's policy like Latchkey's own API: a session older than its lifetime is 401", async () => {
    const o = await newUser(w, 'Policy Gate');
    const asked = {
      cookie: o.cookie,
      'x-forwarded-method': 'GET',
      'x-forwarded-uri': `/api/user/organizations/${o.organizationId}/projects`,
      'x-forwarded-host': 'api.example.com',
      'x-forwarded-proto': 'https',
    };
    expect((await forwardAuth(asked)).status).toBe(200);
    const policy = { requireSecondFactor: 'none', allowedInvitationDomains: [], maxSessionSeconds: 60, maxApiKeyLifetimeSeconds: 0, apiKeysMustExpire: false };
    expect((await rest(w.url, 'PUT', `/api/user/organizations/${o.organizationId}/policy`, { headers: cookie(o), body: policy })).status).toBe(200);
    expect((await forwardAuth(asked)).status).toBe(200);
    w.server.clock.advance(61);
    try {
      expect((await rest(w.url, 'GET', `/api/user/organizations/${o.organizationId}/policy`, { headers: cookie(o) })).status).toBe(401);
      const r = await forwardAuth(asked);
      expect(r.status).toBe(401);
      expect(((await r.json()) as { reason: string }).reason).toBe('SESSION_EXPIRED');
    } finally {
      w.server.clock.advance(-61);
    }
  });

  it('forward-auth: forwarded headers only from TRUSTED_PROXIES; without them a clear 400', async () => {
    const asked = { 'x-api-key': s.pat.key, 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/customer' };
    const trusted = w.server.config.trustedProxies;
    w.server.config.trustedProxies = ['10.9.9.9'];
    try {
      const r = await forwardAuth(asked);
      expect(r.status).toBe(403);
      expect(((await r.json()) as { message: string }).message).toBe('Forward-auth answers only proxies listed in TRUSTED_PROXIES');
    } finally {
      w.server.config.trustedProxies = trusted;
    }
    const missing = await forwardAuth({ 'x-api-key': s.pat.key });
    expect(missing.status).toBe(400);
    // nginx's form works the same way.
    expect((await forwardAuth({ 'x-api-key': s.pat.key, 'x-original-method': 'GET', 'x-original-uri': '/customer?x=1' })).status).toBe(200);
  });
});
