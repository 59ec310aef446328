// OAuth access tokens on the gateway's guarded routes (GATEWAY_POLICY, built-in gateway in front of an
// echo upstream), with openid-client as the application: the policy's downstream scopes
// (projects:read, …) are scopes clients may be given and ask for, capped by the creator's (or the
// consenting user's) role through the policy's roles, as the gateway caps an API key's.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cookie, createOrg, join, newUser, setRole, startWorld, type World } from '../apikey/fixtures.js';
import { type Echo, gatewayEnv, POLICY, startEcho, verifyAssertion, writePolicy } from '../gateway/fixtures.js';
import type { TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { authorizeOverHttp, type CreatedClient, createClient, discover, oauthError } from './helpers.js';

// The policy, a scope only root_admins hold, and one spelt with the policy's other characters.
const WITH_ROOT_SCOPE = POLICY.replace('routes:\n', '  root_admin: [projects:delete, reports.v2/Export:*]\nroutes:\n').concat(
  '  - match: DELETE /api/user/organizations/{organization_id}/projects\n    scopes: [projects:delete]\n',
);
const REDIRECT = 'https://app.example/callback';

let w: World;
let echo: Echo;
/** root_admin of `org` (signed it up). */
let root: TestUser;
/** admin of `org`. */
let admin: TestUser;
/** member of `org`. */
let member: TestUser;
let org: string;

beforeAll(async () => {
  echo = await startEcho();
  const { file } = await writePolicy(WITH_ROOT_SCOPE);
  w = await startWorld(gatewayEnv(file, { GATEWAY_UPSTREAM: echo.url }));
  [root, admin, member] = await Promise.all([newUser(w, 'Rita Root'), newUser(w, 'Ada Admin'), newUser(w, 'Max Member')]);
  org = root.organizationId;
  await join(w, root, org, admin, 'admin');
  await join(w, root, org, member, 'member');
}, 180_000);
afterAll(async () => {
  await w?.stop();
  await echo?.stop();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const seen = (r: { body: any }) => r.body.headers as Record<string, string>;
const projects = (organizationId = org) => `/api/user/organizations/${organizationId}/projects`;
/** As the helper's createClient, in `organizationId` (a user's own organization by default). */
const machine = (creator: TestUser, scopes: string[], organizationId = org) =>
  createClient(w.url, { ...creator, organizationId }, { name: 'Project sync', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes });
const tokenOf = async (c: CreatedClient, scope: string) => (await oidc.clientCredentialsGrant(await discover(w.url, c.clientId, oidc.ClientSecretBasic(c.secret)), { scope })).access_token;

describe('machine clients with downstream scopes', () => {
  test('discovery and the protected resource list the policy’s downstream scopes', async () => {
    const meta = (await (await fetch(`${w.url}/.well-known/openid-configuration`)).json()) as { scopes_supported: string[] };
    expect(meta.scopes_supported).toEqual(expect.arrayContaining(['openid', 'members:read', 'projects:read', 'projects:write', 'projects:delete']));
    const pr = (await (await fetch(`${w.url}/.well-known/oauth-protected-resource`)).json()) as { scopes_supported: string[] };
    expect(pr.scopes_supported).toEqual(expect.arrayContaining(['members:read', 'projects:read', 'projects:write', 'projects:delete']));
  });

  test('a projects:read token passes GET …/projects to the upstream as the client’s organization; POST is 403 Missing scope projects:write', async () => {
    const c = await machine(admin, ['projects:read', 'members:read']);
    const token = await tokenOf(c, 'projects:read');
    const r = await rest(w.url, 'GET', projects(), { headers: bearer(token) });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-upstream')).toBe('echo');
    expect(seen(r)).toMatchObject({ 'x-latchkey-user-id': admin.userId, 'x-latchkey-organization-id': org, 'x-latchkey-scopes': 'projects:read', 'x-latchkey-actor': admin.userId });
    expect(seen(r).authorization).toBeUndefined(); // the token stays at the gateway
    expect(await verifyAssertion(w.url, seen(r)['x-latchkey-assertion'])).toMatchObject({
      sub: admin.userId,
      org_id: org,
      role: 'admin',
      scope: 'projects:read',
      act: { sub: admin.userId, client_id: c.clientId },
      route: 'GET /api/user/organizations/{organization_id}/projects',
    });
    const before = echo.received.length;
    const post = await rest(w.url, 'POST', projects(), { headers: bearer(token), body: { name: 'x' } });
    expect(post.status).toBe(403);
    expect(post.body.message).toBe('Missing scope projects:write');
    expect(echo.received.length).toBe(before);
    // IntrospectToken (and the provider's introspection) name the downstream scope.
    const own = await rest(w.url, 'POST', '/api/auth/introspect', { headers: cookie(admin, { 'x-organization-id': org }), body: { token } });
    expect(own.body.data).toMatchObject({ active: true, client_id: c.clientId, org_id: org, scope: 'projects:read' });
    const cfg = await discover(w.url, c.clientId, oidc.ClientSecretBasic(c.secret));
    expect(await oidc.tokenIntrospection(cfg, token)).toMatchObject({ active: true, scope: 'projects:read', org_id: org });
  });

  test('a scope outside the client is invalid_scope; a scope no role grants is unknown (400)', async () => {
    const c = await machine(admin, ['projects:read']);
    const cfg = await discover(w.url, c.clientId, oidc.ClientSecretBasic(c.secret));
    expect(await oauthError(oidc.clientCredentialsGrant(cfg, { scope: 'projects:write' }))).toBe('invalid_scope');
    const r = await rest(w.url, 'POST', '/api/oauth/clients', {
      headers: cookie(admin, { 'x-organization-id': org }),
      body: { name: 'x', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['projects:admin'] },
    });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/unknown scope "projects:admin"/);
  });

  test('none above the creator’s role: an admin cannot give a root_admin-only downstream scope (403), on create or update; a root_admin can', async () => {
    const create = await rest(w.url, 'POST', '/api/oauth/clients', {
      headers: cookie(admin, { 'x-organization-id': org }),
      body: { name: 'x', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['projects:read', 'projects:delete'] },
    });
    expect(create.status).toBe(403);
    expect(create.body.message).toBe('Your role cannot grant projects:delete');
    const c = await machine(admin, ['projects:read']);
    const update = await rest(w.url, 'PATCH', `/api/oauth/clients/${c.clientId}`, { headers: cookie(admin, { 'x-organization-id': org }), body: { scopes: ['projects:read', 'projects:delete'] } });
    expect(update.status).toBe(403);
    const mine = await machine(root, ['projects:delete']);
    const r = await rest(w.url, 'DELETE', projects(), { headers: bearer(await tokenOf(mine, 'projects:delete')) });
    expect(r.status).toBe(200);
    expect(seen(r)['x-latchkey-scopes']).toBe('projects:delete');
  });

  test('a downstream scope with digits, capitals, dots, slashes and * (as the policy allows) can be given too', async () => {
    const c = await machine(root, ['reports.v2/Export:*']);
    const cfg = await discover(w.url, c.clientId, oidc.ClientSecretBasic(c.secret));
    const { access_token: token } = await oidc.clientCredentialsGrant(cfg, { scope: 'reports.v2/Export:*' });
    expect(await oidc.tokenIntrospection(cfg, token)).toMatchObject({ active: true, scope: 'reports.v2/Export:*' });
  });

  test('members cannot register clients at all (403)', async () => {
    const r = await rest(w.url, 'POST', '/api/oauth/clients', {
      headers: cookie(member, { 'x-organization-id': org }),
      body: { name: 'x', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['projects:read'] },
    });
    expect(r.status).toBe(403);
  });

  test('the creator demoted: the token’s projects:write is capped at use; the creator removed: refused', async () => {
    const creator = await newUser(w, 'Dora Demoted');
    await join(w, root, org, creator, 'admin');
    const c = await machine(creator, ['projects:read', 'projects:write']);
    const token = await tokenOf(c, 'projects:read projects:write');
    expect((await rest(w.url, 'POST', projects(), { headers: bearer(token), body: {} })).status).toBe(200);
    await setRole(w, root, org, creator.userId, 'member');
    const write = await rest(w.url, 'POST', projects(), { headers: bearer(token), body: {} });
    expect(write.status).toBe(403);
    expect(write.body.message).toBe('Missing scope projects:write');
    const read = await rest(w.url, 'GET', projects(), { headers: bearer(token) });
    expect(read.status).toBe(200);
    expect(seen(read)['x-latchkey-scopes']).toBe('projects:read');
    const del = await rest(w.url, 'DELETE', `/api/user/organizations/${org}/members/${creator.userId}`, { headers: cookie(root) });
    expect(del.status).toBe(200);
    const gone = await rest(w.url, 'GET', projects(), { headers: bearer(token) });
    expect(gone.status).toBe(403);
    expect(gone.body.message).toBe('Not a member of this organization');
  });

  test('a revoked token (RFC 7009) is 401 at the gateway', async () => {
    const c = await machine(admin, ['projects:read']);
    const cfg = await discover(w.url, c.clientId, oidc.ClientSecretBasic(c.secret));
    const { access_token: token } = await oidc.clientCredentialsGrant(cfg, { scope: 'projects:read' });
    expect((await rest(w.url, 'GET', projects(), { headers: bearer(token) })).status).toBe(200);
    await oidc.tokenRevocation(cfg, token);
    const r = await rest(w.url, 'GET', projects(), { headers: bearer(token) });
    expect(r.status).toBe(401);
    expect(r.body.message).toBe('Access token revoked');
  });

  test('a token of another organization’s client is 403 on this organization’s route, even when its creator is a member here', async () => {
    const otherOrg = await createOrg(w, admin, { name: 'Admin side project' });
    const c = await machine(admin, ['projects:read'], otherOrg);
    const token = await tokenOf(c, 'projects:read');
    expect((await rest(w.url, 'GET', projects(otherOrg), { headers: bearer(token) })).status).toBe(200);
    const r = await rest(w.url, 'GET', projects(), { headers: bearer(token) });
    expect(r.status).toBe(403);
    expect(r.body.message).toBe('This credential is pinned to another organization');
    const outsider = await newUser(w, 'Otto Outsider');
    const foreign = await machine(outsider, ['projects:read'], outsider.organizationId);
    const f = await rest(w.url, 'GET', projects(), { headers: bearer(await tokenOf(foreign, 'projects:read')) });
    expect(f.status).toBe(403);
  });

  test('forward-auth answers the same: 200 with the identity headers, 403 for the missing scope', async () => {
    const c = await machine(admin, ['projects:read']);
    const token = await tokenOf(c, 'projects:read');
    const ask = (method: string) =>
      fetch(`${w.url}/api/authz/forward-auth`, { headers: { 'x-forwarded-method': method, 'x-forwarded-uri': projects(), 'x-forwarded-host': 'app.example', ...bearer(token) } });
    const ok = await ask('GET');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-latchkey-organization-id')).toBe(org);
    expect(ok.headers.get('x-latchkey-scopes')).toBe('projects:read');
    expect(await verifyAssertion(w.url, ok.headers.get('x-latchkey-assertion')!)).toMatchObject({ sub: admin.userId, org_id: org, scope: 'projects:read' });
    const no = await ask('POST');
    expect(no.status).toBe(403);
    expect(((await no.json()) as { message: string }).message).toBe('Missing scope projects:write');
  });
});

describe('user clients asking for downstream scopes', () => {
  let config: oidc.Configuration;

  beforeAll(async () => {
    const c = await createClient(
      w.url,
      { ...root, organizationId: org },
      {
        name: 'Project board',
        type: 'O_AUTH_CLIENT_TYPE_CONFIDENTIAL',
        redirectUris: [REDIRECT],
        scopes: ['openid', 'projects:read', 'projects:write'],
      },
    );
    config = await discover(w.url, c.clientId, oidc.ClientSecretBasic(c.secret));
  });

  test('the consent shows them; the user’s role caps them: a member asking for projects:write is invalid_scope', async () => {
    let view: any;
    const { callback } = await authorizeOverHttp(w.url, config, member, REDIRECT, 'openid projects:read projects:write', {
      organizationId: org,
      beforeConsent: async (uid) => {
        view = (await rest(w.url, 'GET', `/api/oauth/interactions/${uid}?organizationId=${org}`, { headers: cookie(member) })).body.data;
      },
    });
    expect(view).toMatchObject({ scopes: ['openid', 'projects:read', 'projects:write'], refusedScopes: ['projects:write'], organizationId: org });
    expect(callback.searchParams.get('error')).toBe('invalid_scope');
  });

  test('a member’s projects:read token passes the gateway as the member', async () => {
    const { callback, verifier, state } = await authorizeOverHttp(w.url, config, member, REDIRECT, 'openid projects:read', { organizationId: org });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.scope?.split(' ')).toContain('projects:read');
    const r = await rest(w.url, 'GET', projects(), { headers: bearer(tokens.access_token) });
    expect(r.status).toBe(200);
    expect(seen(r)).toMatchObject({ 'x-latchkey-user-id': member.userId, 'x-latchkey-organization-id': org, 'x-latchkey-scopes': 'projects:read' });
    expect((await rest(w.url, 'POST', projects(), { headers: bearer(tokens.access_token), body: {} })).status).toBe(403);
    // It acts in the organization chosen on the consent page only: not in the member's own one.
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true, org_id: org, sub: member.userId });
    const own = await rest(w.url, 'GET', projects(member.organizationId), { headers: bearer(tokens.access_token) });
    expect(own.status).toBe(403);
    expect(own.body.message).toMatch(/another organization/);
  });

  test('an admin may consent to projects:write, and the token writes', async () => {
    const { callback, verifier, state } = await authorizeOverHttp(w.url, config, admin, REDIRECT, 'openid projects:read projects:write', { organizationId: org });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const r = await rest(w.url, 'POST', projects(), { headers: bearer(tokens.access_token), body: {} });
    expect(r.status).toBe(200);
    expect(seen(r)['x-latchkey-scopes'].split(' ').sort()).toEqual(['projects:read', 'projects:write']);
  });
});
