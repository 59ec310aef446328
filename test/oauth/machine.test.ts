// Machine clients (client_credentials) of an organization, with openid-client as the application:
// tokens act in the client's organization with its scopes on Latchkey's API; introspection (RFC 7662)
// of live, expired and revoked tokens; revocation (RFC 7009); refusals with the standard OAuth errors.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signUpAndIn, type TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createClient, discover, oauthError } from './helpers.js';

let s: TestServer;
let admin: TestUser;
let other: TestUser;

beforeAll(async () => {
  s = await startServer();
  admin = await signUpAndIn(s.url, 'Ada Admin');
  other = await signUpAndIn(s.url, 'Olga Other');
}, 60_000);
afterAll(() => s?.stop());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('client_credentials', () => {
  let client: { clientId: string; secret: string };
  let config: oidc.Configuration;

  beforeAll(async () => {
    client = await createClient(s.url, admin, { name: 'Billing sync', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['members:read', 'orgs:read'] });
    config = await discover(s.url, client.clientId, oidc.ClientSecretBasic(client.secret));
  });

  test('the secret is shown once and never listed', async () => {
    expect(client.secret).toMatch(/^lkcs_[\w-]{43}$/);
    const list = await rest(s.url, 'GET', '/api/oauth/clients', { headers: { cookie: admin.cookie, 'x-organization-id': admin.organizationId } });
    expect(list.status).toBe(200);
    expect(list.body.data.clients.map((c: { clientId: string }) => c.clientId)).toContain(client.clientId);
    expect(JSON.stringify(list.body)).not.toContain(client.secret);
  });

  test('a token acts in the client organization, limited to its scopes', async () => {
    const t = await oidc.clientCredentialsGrant(config, { scope: 'members:read' });
    expect(t.token_type.toLowerCase()).toBe('bearer');
    expect(t.access_token.split('.')).toHaveLength(3);
    const members = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: bearer(t.access_token) });
    expect(members.status).toBe(200);
    // members:write was not granted
    const invite = await rest(s.url, 'POST', `/api/user/organizations/${admin.organizationId}/invitations`, { headers: bearer(t.access_token), body: { email: 'x@example.com', role: 'member' } });
    expect(invite.status).toBe(403);
    // another organization's data: never
    const foreign = await rest(s.url, 'GET', `/api/user/organizations/${other.organizationId}/members`, { headers: bearer(t.access_token) });
    expect([403, 404]).toContain(foreign.status);
  });

  test('client_secret_post works too; a wrong secret is invalid_client; a scope outside the client is invalid_scope', async () => {
    const post = await discover(s.url, client.clientId, oidc.ClientSecretPost(client.secret));
    expect((await oidc.clientCredentialsGrant(post, { scope: 'orgs:read' })).access_token).toBeTruthy();
    const wrong = await discover(s.url, client.clientId, oidc.ClientSecretBasic(`${client.secret}x`));
    expect(await oauthError(oidc.clientCredentialsGrant(wrong, { scope: 'orgs:read' }))).toBe('invalid_client');
    expect(await oauthError(oidc.clientCredentialsGrant(config, { scope: 'audit:read' }))).toBe('invalid_scope');
  });

  test('introspection of a live token, then revocation (RFC 7009): refused at once', async () => {
    const t = await oidc.clientCredentialsGrant(config, { scope: 'members:read' });
    const live = await oidc.tokenIntrospection(config, t.access_token);
    expect(live).toMatchObject({ active: true, client_id: client.clientId, scope: 'members:read', org_id: admin.organizationId });
    // Latchkey's own IntrospectToken understands it as well
    const own = await rest(s.url, 'POST', '/api/auth/introspect', { headers: { cookie: admin.cookie, 'x-organization-id': admin.organizationId }, body: { token: t.access_token } });
    expect(own.body.data).toMatchObject({ active: true, client_id: client.clientId, org_id: admin.organizationId, scope: 'members:read' });
    await oidc.tokenRevocation(config, t.access_token);
    expect((await oidc.tokenIntrospection(config, t.access_token)).active).toBe(false);
    const after = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: bearer(t.access_token) });
    expect(after.status).toBe(401);
  });

  test('an expired token is inactive and refused', async () => {
    const t = await oidc.clientCredentialsGrant(config, { scope: 'members:read' });
    s.clock.advance(16 * 60);
    try {
      const r = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: bearer(t.access_token) });
      expect(r.status).toBe(401);
      expect(r.body.message).toMatch(/expired/i);
      const own = await rest(s.url, 'POST', '/api/auth/introspect', { headers: { cookie: admin.cookie, 'x-organization-id': admin.organizationId }, body: { token: t.access_token } });
      expect(own.body.data.active).toBe(false);
    } finally {
      s.clock.advance(-16 * 60);
    }
  });

  test('a deleted client: its tokens stop and it cannot get more', async () => {
    const c = await createClient(s.url, admin, { name: 'Short-lived', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['orgs:read'] });
    const cfg = await discover(s.url, c.clientId, oidc.ClientSecretBasic(c.secret));
    const t = await oidc.clientCredentialsGrant(cfg, { scope: 'orgs:read' });
    const del = await rest(s.url, 'DELETE', `/api/oauth/clients/${c.clientId}`, { headers: { cookie: admin.cookie, 'x-organization-id': admin.organizationId } });
    expect(del.status).toBe(200);
    const r = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}`, { headers: bearer(t.access_token) });
    expect(r.status).toBe(401);
    expect(await oauthError(oidc.clientCredentialsGrant(cfg, { scope: 'orgs:read' }))).toBe('invalid_client');
    const audit = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/audit-events`, { headers: { cookie: admin.cookie } });
    const types = audit.body.data.auditEvents.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['oauth_client.created', 'oauth_client.deleted']));
  });
});

describe('discovery (defaults)', () => {
  test('no registration endpoint in discovery, and none served', async () => {
    const meta = (await (await fetch(`${s.url}/.well-known/openid-configuration`)).json()) as Record<string, any>;
    expect(meta.issuer).toBe(s.url);
    expect(meta.registration_endpoint).toBeUndefined();
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.grant_types_supported).not.toContain('password');
    const r = await fetch(`${s.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:8976/callback'], token_endpoint_auth_method: 'none' }),
    });
    expect(r.status).toBe(404);
    // RFC 8414 alias and RFC 9728 protected-resource metadata
    const as = (await (await fetch(`${s.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, any>;
    expect(as.token_endpoint).toBe(`${s.url}/oauth/token`);
    const pr = (await (await fetch(`${s.url}/.well-known/oauth-protected-resource`)).json()) as Record<string, any>;
    expect(pr).toMatchObject({ resource: s.url, authorization_servers: [s.url] });
  });
});

describe('client management', () => {
  test('a client of another organization is not found; members cannot register clients', async () => {
    const c = await createClient(s.url, admin, { name: 'Mine', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['orgs:read'] });
    const get = await rest(s.url, 'GET', `/api/oauth/clients/${c.clientId}`, { headers: { cookie: other.cookie, 'x-organization-id': other.organizationId } });
    expect(get.status).toBe(404);
    const del = await rest(s.url, 'DELETE', `/api/oauth/clients/${c.clientId}`, { headers: { cookie: other.cookie, 'x-organization-id': other.organizationId } });
    expect(del.status).toBe(404);
    const foreign = await rest(s.url, 'POST', '/api/oauth/clients', {
      headers: { cookie: other.cookie, 'x-organization-id': admin.organizationId },
      body: { name: 'x', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['orgs:read'] },
    });
    expect([403, 404]).toContain(foreign.status);
  });

  test('bad input is a 400 naming the field', async () => {
    const r = await rest(s.url, 'POST', '/api/oauth/clients', {
      headers: { cookie: admin.cookie, 'x-organization-id': admin.organizationId },
      body: { name: 'Web', type: 'O_AUTH_CLIENT_TYPE_CONFIDENTIAL', redirectUris: ['http://evil.example/cb'] },
    });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/redirect_uris/);
    const none = await rest(s.url, 'POST', '/api/oauth/clients', {
      headers: { cookie: admin.cookie, 'x-organization-id': admin.organizationId },
      body: { name: 'Web', type: 'O_AUTH_CLIENT_TYPE_CONFIDENTIAL' },
    });
    expect(none.status).toBe(400);
  });

  test('without a gateway policy, a downstream scope (projects:read) is unknown and not in discovery', async () => {
    const r = await rest(s.url, 'POST', '/api/oauth/clients', {
      headers: { cookie: admin.cookie, 'x-organization-id': admin.organizationId },
      body: { name: 'Projects', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['projects:read'] },
    });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/unknown scope "projects:read"/);
    const meta = (await (await fetch(`${s.url}/.well-known/openid-configuration`)).json()) as { scopes_supported: string[] };
    expect(meta.scopes_supported).toContain('members:read');
    expect(meta.scopes_supported).not.toContain('projects:read');
  });
});
