// A restart keeps what the provider stored: clients (and their hashed secrets), grants and refresh
// tokens; the signing key survives too, so tokens issued before still verify.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { signUpAndIn, type TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { authorizeOverHttp, createClient, discover, oauthError } from './helpers.js';

const REDIRECT = 'https://app.example/callback';
let s: TestServer;
let admin: TestUser;

beforeAll(async () => {
  s = await startServer();
  admin = await signUpAndIn(s.url, 'Ada Admin');
}, 60_000);
afterAll(() => s?.stop());

test('clients, grants and refresh tokens survive a restart', async () => {
  const web = await createClient(s.url, admin, { name: 'Acme', type: 'O_AUTH_CLIENT_TYPE_CONFIDENTIAL', redirectUris: [REDIRECT], scopes: ['openid', 'offline_access', 'members:read'] });
  const machine = await createClient(s.url, admin, { name: 'Sync', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['orgs:read'] });
  let config = await discover(s.url, web.clientId, oidc.ClientSecretBasic(web.secret));
  const { callback, verifier, state } = await authorizeOverHttp(s.url, config, admin, REDIRECT, 'openid offline_access members:read');
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  expect(tokens.refresh_token).toBeTruthy();

  await s.restart();

  config = await discover(s.url, web.clientId, oidc.ClientSecretBasic(web.secret));
  // the access token issued before still verifies (same signing key), and the grant is listed
  const members = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  expect(members.status).toBe(200);
  const grants = await rest(s.url, 'GET', '/api/oauth/grants', { headers: { cookie: admin.cookie } });
  expect(grants.body.data.grants).toEqual([expect.objectContaining({ clientId: web.clientId, clientName: 'Acme' })]);
  const next = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  expect(next.access_token).toBeTruthy();
  const cc = await discover(s.url, machine.clientId, oidc.ClientSecretBasic(machine.secret));
  expect((await oidc.clientCredentialsGrant(cc, { scope: 'orgs:read' })).access_token).toBeTruthy();
  // consent given and then revoked over the API is an audit trail of the organization
  const revoke = await rest(s.url, 'DELETE', `/api/oauth/grants/${grants.body.data.grants[0].grantId}`, { headers: { cookie: admin.cookie } });
  expect(revoke.status).toBe(200);
  expect(await oauthError(oidc.refreshTokenGrant(config, next.refresh_token!))).toBe('invalid_grant');
  const audit = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/audit-events`, { headers: { cookie: admin.cookie } });
  expect(audit.body.data.auditEvents.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['oauth_consent.granted', 'oauth_consent.revoked']));
}, 60_000);
