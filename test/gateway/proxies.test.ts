// Real nginx (auth_request) and real Caddy (forward_auth) in front of an upstream echo server, each
// asking Latchkey's /api/authz/forward-auth: the three seed examples with their 200/400/401/403/429
// outcomes, the identity headers the upstream received, and the assertion verified with the JWKS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, type World } from '../apikey/fixtures.js';
import { rest } from '../helpers/clients.js';
import { type Echo, gatewayEnv, hasBinary, type Proxy, startCaddy, startEcho, startNginx, verifyAssertion, writePolicy } from './fixtures.js';
import { type SeedKeys, seedKeys } from './seeds.js';

const PROXIES = [
  { name: 'nginx auth_request', bin: 'nginx', start: startNginx },
  { name: 'Caddy forward_auth', bin: 'caddy', start: startCaddy },
];

describe.each(PROXIES)('$name in front of an upstream', ({ bin, start }) => {
  let w: World;
  let echo: Echo;
  let proxy: Proxy;
  let s: SeedKeys;

  beforeAll(async () => {
    const { file } = await writePolicy();
    w = await startWorld(gatewayEnv(file));
    echo = await startEcho();
    proxy = await start(w.server.port, echo.port);
    s = await seedKeys(w);
  }, 180_000);
  afterAll(async () => {
    await proxy?.stop();
    await echo?.stop();
    await w?.stop();
  });

  const get = (path: string, headers: Record<string, string> = {}) => rest(proxy.url, 'GET', path, { headers });
  const seen = (r: { body: any }) => r.body.headers as Record<string, string>;

  it.skipIf(!hasBinary(bin))('seed 001: GET …/organizations/${ORG_ID}/projects with X-Api-Key reaches the upstream as the user', async () => {
    const r = await get(`/api/user/organizations/${s.orgId}/projects`, { 'X-Api-Key': s.pat.key });
    expect(r.status).toBe(200);
    const h = seen(r);
    expect(h['x-latchkey-user-id']).toBe(s.user.userId);
    expect(h['x-latchkey-organization-id']).toBe(s.orgId);
    expect(h['x-latchkey-key-id']).toBe(s.pat.id);
    expect(h['x-latchkey-scopes'].split(' ')).toEqual(expect.arrayContaining(['user:read', 'projects:read', 'projects:write']));
    expect(h['x-api-key']).toBeUndefined(); // the credential stays at the proxy
    const claims = await verifyAssertion(w.url, h['x-latchkey-assertion']);
    expect(claims).toMatchObject({ sub: s.user.userId, org_id: s.orgId, key_id: s.pat.id, route: 'GET /api/user/organizations/{organization_id}/projects', role: 'root_admin' });
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(60);
  });

  it.skipIf(!hasBinary(bin))('seed 001: 403 for a key pinned to another organization, and for a key without projects:read', async () => {
    const pinned = await get(`/api/user/organizations/${s.otherOrgId}/projects`, { 'X-Api-Key': s.pinned.key });
    expect(pinned.status).toBe(403);
    expect(pinned.body).toMatchObject({ success: false, status: 403, code: 'FORBIDDEN', message: 'This API key is pinned to another organization' });
    const scope = await get(`/api/user/organizations/${s.orgId}/projects`, { 'X-Api-Key': s.noProjects.key });
    expect(scope.status).toBe(403);
    expect(scope.body.message).toBe('Missing scope projects:read');
    expect(echo.received.filter((x) => x.headers['x-api-key'] || x.headers['x-latchkey-key-id'] === s.pinned.id)).toEqual([]);
  });

  it.skipIf(!hasBinary(bin))('seed 000: GET /data/contact with orgid + x-api-key; 400 without orgid', async () => {
    const ok = await get('/data/contact', { orgid: s.orgId, 'x-api-key': s.orgKey.key });
    expect(ok.status).toBe(200);
    expect(seen(ok)['x-latchkey-organization-id']).toBe(s.orgId);
    expect(seen(ok).orgid).toBe(s.orgId); // the tenant header itself passes through
    const bad = await get('/data/contact', { 'x-api-key': s.orgKey.key });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ success: false, status: 400, code: 'BAD_REQUEST', message: 'Missing orgid or x-organization-id header' });
  });

  it.skipIf(!hasBinary(bin))('seed 000: rateLimit.requestsPerMinute counts product requests: 429 with RateLimit-* and Retry-After', async () => {
    const h = { orgid: s.orgId, 'x-api-key': s.limited.key };
    expect((await get('/data/contact', h)).status).toBe(200);
    expect((await get('/data/contact', h)).status).toBe(200);
    const r = await get('/data/contact', h);
    expect(r.status).toBe(429);
    expect(r.body).toMatchObject({ success: false, status: 429, code: 'RATE_LIMITED', message: 'API key rate limit exceeded' });
    expect(r.headers.get('ratelimit-limit')).toBe('2');
    expect(r.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it.skipIf(!hasBinary(bin))('seed 002: GET /customer with Authorization: Bearer at_…; "Missing Authorization header" without it', async () => {
    expect(s.bearer.key.startsWith('at_')).toBe(true);
    const ok = await get('/customer', { Authorization: `Bearer ${s.bearer.key}`, 'Content-Type': 'application/json' });
    expect(ok.status).toBe(200);
    expect(seen(ok).authorization).toBeUndefined();
    expect(seen(ok)['x-latchkey-key-id']).toBe(s.bearer.id);
    const none = await get('/customer', { 'Content-Type': 'application/json' });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ success: false, status: 401, code: 'UNAUTHORIZED', message: 'Missing Authorization header' });
  });

  it.skipIf(!hasBinary(bin))('401 names why: a revoked key, an unknown key', async () => {
    const revoked = (await rest(w.url, 'POST', '/api/auth/api-key/create', { body: { name: 'to revoke' }, headers: { cookie: s.user.cookie, orgid: s.orgId } })).body.data;
    expect((await rest(w.url, 'DELETE', `/api-key/${revoked.id}`, { headers: { cookie: s.user.cookie, orgid: s.orgId } })).status).toBe(200);
    const r = await get('/customer', { Authorization: `Bearer ${revoked.key}` });
    expect(r.status).toBe(401);
    expect(r.body.message).toBe('API key revoked');
    const unknown = await get('/customer', { 'x-api-key': 'at_definitelynotakey' });
    expect(unknown.status).toBe(401);
    expect(unknown.body.message).toBe('Invalid API key');
  });

  it.skipIf(!hasBinary(bin))('identity headers a client sends are never passed on as if Latchkey had set them', async () => {
    const r = await get('/customer', { cookie: s.user.cookie, 'X-Latchkey-Key-Id': 'ak_forged', 'X-Latchkey-User-Id': 'someone-else' });
    expect(r.status).toBe(200);
    expect(seen(r)['x-latchkey-user-id']).toBe(s.user.userId);
    // Absent, or empty (Caddy 2.6 copies an empty value): never the forged one.
    expect(seen(r)['x-latchkey-key-id'] ?? '').toBe('');
  });

  it.skipIf(!hasBinary(bin))('unknown routes are 404 in the envelope and never reach the upstream', async () => {
    const before = echo.received.length;
    const r = await get('/not/in/policy', { 'x-api-key': s.pat.key });
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ success: false, status: 404, code: 'NOT_FOUND', message: 'No route for GET /not/in/policy' });
    expect(echo.received.length).toBe(before);
  });
});
