// Every key flow of seeds 000, 001, 002 and 003 through its documented REST path (host, ids and keys replaced).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { accessTokenOf, cookie, createKey, createOrg, join, newUser, startWorld, type World, xApiKey } from './fixtures.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.stop();
});

const KEY_RE = /^lk_[0-9A-Za-z]{49}$/;

describe('seed 001: a personal access token from a session', () => {
  let u: TestUser;
  let created: any;

  it('POST /api/auth/api-key/create with the cookie returns the key once, in the documented envelope', async () => {
    u = await newUser(w, 'Seed One');
    const before = Date.now();
    const r = await rest(w.url, 'POST', '/api/auth/api-key/create', {
      headers: cookie(u),
      body: { name: 'CI deploy bot', expiresIn: 2592000, scopes: ['user:read', 'projects:read', 'projects:write'] },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ success: true, status: 200, code: 'OK' });
    created = r.body.data;
    expect(created.id).toMatch(/^ak_[0-9A-Z]{26}$/);
    expect(created.name).toBe('CI deploy bot');
    expect(created.key).toMatch(KEY_RE);
    expect(created.scopes).toEqual(['user:read', 'projects:read', 'projects:write']);
    const expires = Date.parse(created.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 2592000_000 - 5_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 2592000_000 + 5_000);
    // Seed 003's names on the same response.
    expect(created.apiKeyId).toBe(created.id);
    expect(created.apiKeyToken).toBe(created.key);
    expect(created.start).toBe(created.key.slice(0, 7));
    expect(created.apiKey).toMatchObject({ id: created.id, personal: true, status: 'active', createdByUserId: u.userId });
  });

  it('GET /api/user/me with X-Api-Key answers the user', async () => {
    const r = await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(created.key) });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ id: u.userId, email: u.email });
  });

  it('a scope the key lacks is 403, not 401', async () => {
    const r = await rest(w.url, 'GET', '/api/user/organizations', { headers: xApiKey(created.key) });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ success: false, code: 'FORBIDDEN' });
  });

  it('GET /api/user/api-keys lists personal tokens, metadata only', async () => {
    const r = await rest(w.url, 'GET', '/api/user/api-keys', { headers: cookie(u) });
    expect(r.status).toBe(200);
    expect(r.body.data.apiKeys.map((k: any) => k.id)).toEqual([created.id]);
    expect(JSON.stringify(r.body)).not.toContain(created.key.slice(7));
    expect(r.body.data.apiKeys[0].key).toBeUndefined();
  });

  it('a pinned token answers only for its organization', async () => {
    const pinned = await createKey(w, cookie(u), { scopes: ['orgs:read'], metadata: { organizationId: u.organizationId } });
    expect(pinned.apiKey.organizationId).toBe(u.organizationId);
    const own = await rest(w.url, 'GET', `/api/user/organizations/${u.organizationId}`, { headers: xApiKey(pinned.key) });
    expect(own.status).toBe(200);
    const other = await createOrg(w, u, { name: 'Other' });
    const r = await rest(w.url, 'GET', `/api/user/organizations/${other}`, { headers: xApiKey(pinned.key) });
    expect(r.status).toBe(403);
    const viaHeader = await rest(w.url, 'GET', `/api/user/organizations/${u.organizationId}`, { headers: xApiKey(pinned.key, { 'x-organization-id': other }) });
    expect(viaHeader.status).toBe(400); // header and path disagree
  });

  it('a mistyped or truncated key is 401 "Invalid API key"', async () => {
    const typo = created.key.slice(0, 10) + (created.key[10] === 'a' ? 'b' : 'a') + created.key.slice(11);
    for (const k of [typo, created.key.slice(0, -1), created.key + 'x']) {
      const r = await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k) });
      expect(r.status).toBe(401);
      expect(r.body.message).toBe('Invalid API key');
    }
  });
});

describe('seed 000: orgid header and a JWT', () => {
  let u: TestUser;
  let jwt: string;
  let created: any;

  it('POST /api-key/create with orgid + Bearer JWT makes a key of that organization', async () => {
    u = await newUser(w, 'Seed Zero');
    jwt = await accessTokenOf(w, u);
    const r = await rest(w.url, 'POST', '/api-key/create', {
      headers: { orgid: u.organizationId, authorization: `Bearer ${jwt}` },
      body: { name: 'build pipeline', scopes: ['read', 'write'], rateLimit: { requestsPerMinute: 60 } },
    });
    expect(r.status).toBe(200);
    created = r.body.data;
    expect(created.key).toMatch(KEY_RE);
    expect(created.apiKey).toMatchObject({ organizationId: u.organizationId, personal: false, rateLimit: { requestsPerMinute: 60 }, scopes: ['read', 'write'] });
  });

  it('GET /api-key/list and GET /api-key/:keyId show metadata only', async () => {
    const headers = { orgid: u.organizationId, authorization: `Bearer ${jwt}` };
    const list = await rest(w.url, 'GET', '/api-key/list', { headers });
    expect(list.status).toBe(200);
    expect(list.body.data.apiKeys.map((k: any) => k.id)).toContain(created.id);
    const one = await rest(w.url, 'GET', `/api-key/${created.id}`, { headers });
    expect(one.status).toBe(200);
    expect(one.body.data).toMatchObject({ id: created.id, name: 'build pipeline', start: created.start, status: 'active' });
    for (const body of [list.body, one.body]) expect(JSON.stringify(body)).not.toContain(created.key.slice(7));
  });

  it('the key is sent as x-api-key with orgid', async () => {
    const r = await rest(w.url, 'GET', '/profile/whoami', { headers: { orgid: u.organizationId, 'x-api-key': created.key } });
    expect(r.status).toBe(200);
    expect(r.body.data.id).toBe(u.userId);
    const members = await rest(w.url, 'GET', `/api/user/organizations/${u.organizationId}/members`, { headers: { orgid: u.organizationId, 'x-api-key': created.key } });
    expect(members.status).toBe(200);
  });

  it('POST /api-key/regenerate/:keyId rotates the secret; the old one stops at once', async () => {
    const r = await rest(w.url, 'POST', `/api-key/regenerate/${created.id}`, { headers: { orgid: u.organizationId, authorization: `Bearer ${jwt}` } });
    expect(r.status).toBe(200);
    expect(r.body.data.id).toBe(created.id);
    expect(r.body.data.key).toMatch(KEY_RE);
    expect(r.body.data.key).not.toBe(created.key);
    const old = await rest(w.url, 'GET', '/profile/whoami', { headers: xApiKey(created.key, { orgid: u.organizationId }) });
    expect(old.status).toBe(401);
    const fresh = await rest(w.url, 'GET', '/profile/whoami', { headers: xApiKey(r.body.data.key, { orgid: u.organizationId }) });
    expect(fresh.status).toBe(200);
  });

  it('a wrong orgid gives nothing of the other tenant', async () => {
    const stranger = await newUser(w, 'Stranger');
    const r = await rest(w.url, 'GET', '/api-key/list', { headers: { orgid: u.organizationId, cookie: stranger.cookie } });
    expect(r.status).toBe(200);
    expect(r.body.data.apiKeys).toEqual([]);
    const one = await rest(w.url, 'GET', `/api-key/${created.id}`, { headers: cookie(stranger, { orgid: stranger.organizationId }) });
    expect(one.status).toBe(404);
  });
});

describe('seed 002: Authorization: Bearer <key>', () => {
  it('authenticates, and a revoked key says so', async () => {
    const u = await newUser(w, 'Seed Two');
    const k = await createKey(w, cookie(u), { scopes: ['user:read'] });
    const ok = await rest(w.url, 'GET', '/api/user/me', { headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json' } });
    expect(ok.status).toBe(200);
    const none = await rest(w.url, 'GET', '/api/user/me');
    expect(none.status).toBe(401);
    expect(none.body.message).toBe('Missing Authorization header');
    const del = await rest(w.url, 'DELETE', `/api-key/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }) });
    expect(del.status).toBe(200);
    expect(del.body.data.apiKey.status).toBe('revoked');
    const after = await rest(w.url, 'GET', '/api/user/me', { headers: { authorization: `Bearer ${k.key}` } });
    expect(after.status).toBe(401);
    expect(after.body.message).toBe('API key revoked');
  });
});

describe('seed 003: partner and client keys', () => {
  let admin: TestUser;
  let partner: string;
  let client: string;
  let partnerKey: any;
  let clientKey: any;

  beforeAll(async () => {
    admin = await newUser(w, 'Partner Admin');
    partner = await createOrg(w, admin, { name: 'Partner Co', type: 'partner' });
    const c = await rest(w.url, 'POST', '/v2/partner/organizations', { headers: cookie(admin, { 'x-organization-id': partner }), body: { name: 'Client Co' } });
    expect(c.status).toBe(200);
    client = c.body.data.organization.id;
  });

  it('POST /v2/partner/api_keys: a partner key (apiKeyId, apiKeyToken) and a client key', async () => {
    const p = await rest(w.url, 'POST', '/v2/partner/api_keys', { headers: cookie(admin, { 'x-organization-id': partner }), body: { name: 'portfolio' } });
    expect(p.status).toBe(200);
    partnerKey = p.body.data;
    expect(partnerKey.apiKeyId).toMatch(/^ak_/);
    expect(partnerKey.apiKeyToken).toMatch(KEY_RE);
    expect(partnerKey.apiKey).toMatchObject({ organizationId: partner, clientOrganizationId: '' });
    const c = await rest(w.url, 'POST', '/v2/partner/api_keys', { headers: cookie(admin, { 'x-organization-id': partner }), body: { name: 'client one', clientOrganizationId: client } });
    expect(c.status).toBe(200);
    clientKey = c.body.data;
    expect(clientKey.apiKey).toMatchObject({ organizationId: partner, clientOrganizationId: client });
  });

  it('GET /v2/partner/api_keys lists both', async () => {
    const r = await rest(w.url, 'GET', '/v2/partner/api_keys', { headers: cookie(admin, { 'x-organization-id': partner }) });
    expect(r.status).toBe(200);
    expect(r.body.data.apiKeys.map((k: any) => k.id).sort()).toEqual([partnerKey.apiKeyId, clientKey.apiKeyId].sort());
  });

  it('a client key reaches its client organization only, never the partner APIs', async () => {
    const own = await rest(w.url, 'GET', `/api/user/organizations/${client}`, { headers: xApiKey(clientKey.apiKeyToken, { 'x-organization-id': client }) });
    expect(own.status).toBe(200);
    for (const [method, path] of [
      ['GET', '/v2/partner/organizations'],
      ['GET', '/v2/partner/api_keys'],
      ['POST', '/v2/partner/api_keys'],
      ['DELETE', `/v2/partner/api_keys/${partnerKey.apiKeyId}`],
    ]) {
      for (const org of [client, partner]) {
        const r = await rest(w.url, method, path, { headers: xApiKey(clientKey.apiKeyToken, { 'x-organization-id': org }), body: method === 'POST' ? { name: 'x' } : undefined });
        expect(r.status, `${method} ${path} as ${org === client ? 'client' : 'partner'}`).toBe(403);
      }
    }
    const partnerOrg = await rest(w.url, 'GET', `/api/user/organizations/${partner}`, { headers: xApiKey(clientKey.apiKeyToken) });
    expect(partnerOrg.status).toBe(403);
  });

  it('a partner key reaches the partner APIs and the portfolio', async () => {
    const list = await rest(w.url, 'GET', '/v2/partner/organizations', { headers: xApiKey(partnerKey.apiKeyToken) });
    expect(list.status).toBe(200);
    expect(list.body.data.organizations.map((o: any) => o.id)).toContain(client);
    const inClient = await rest(w.url, 'GET', `/api/user/organizations/${client}`, { headers: xApiKey(partnerKey.apiKeyToken) });
    expect(inClient.status).toBe(200);
    const outside = await createOrg(w, admin, { name: 'Not in portfolio' });
    const r = await rest(w.url, 'GET', `/api/user/organizations/${outside}`, { headers: xApiKey(partnerKey.apiKeyToken) });
    expect(r.status).toBe(403);
  });

  it('partner keys need admin: a member of the partner gets 403', async () => {
    const member = await newUser(w, 'Partner Member');
    await join(w, admin, partner, member, 'member');
    const r = await rest(w.url, 'POST', '/v2/partner/api_keys', { headers: cookie(member, { 'x-organization-id': partner }), body: { name: 'nope' } });
    expect(r.status).toBe(403);
    const l = await rest(w.url, 'GET', '/v2/partner/api_keys', { headers: cookie(member, { 'x-organization-id': partner }) });
    expect(l.status).toBe(403);
  });

  it('DELETE /v2/partner/api_keys/{id} revokes the key everywhere at once', async () => {
    const r = await rest(w.url, 'DELETE', `/v2/partner/api_keys/${clientKey.apiKeyId}`, { headers: cookie(admin, { 'x-organization-id': partner }) });
    expect(r.status).toBe(200);
    const after = await rest(w.url, 'GET', `/api/user/organizations/${client}`, { headers: xApiKey(clientKey.apiKeyToken, { 'x-organization-id': client }) });
    expect(after.status).toBe(401);
    expect(after.body.message).toBe('API key revoked');
  });

  it('POST /v1/organizations/api_keys creates an organization key for client onboarding', async () => {
    const r = await rest(w.url, 'POST', '/v1/organizations/api_keys', { headers: cookie(admin, { 'x-organization-id': client }), body: { name: 'onboarding' } });
    expect(r.status).toBe(200);
    expect(r.body.data.apiKey).toMatchObject({ organizationId: client, personal: false });
    const use = await rest(w.url, 'GET', `/api/user/organizations/${client}`, { headers: xApiKey(r.body.data.apiKeyToken, { 'x-organization-id': client }) });
    expect(use.status).toBe(200);
  });
});
