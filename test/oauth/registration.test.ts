// Dynamic client registration (RFC 7591) with an initial access token, and open (as an MCP client
// expects, discovering the server from the protected resource's metadata, RFC 9728). Off by default:
// see machine.test.ts.
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';
import { oauthError } from './helpers.js';

const insecure = { execute: [oidc.allowInsecureRequests] };
const PUBLIC_APP = { redirect_uris: ['http://127.0.0.1:8976/callback'], client_name: 'Agent', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };

describe('with an initial access token', () => {
  const IAT = 'registration-token-0123456789abcdefghijklmnop';
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ env: { OAUTH_DYNAMIC_REGISTRATION: 'token', OAUTH_REGISTRATION_TOKEN: IAT } });
  }, 60_000);
  afterAll(() => s?.stop());

  test('registers a public client with the token; without it or with a wrong one: refused', async () => {
    const none = await fetch(`${s.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(PUBLIC_APP) });
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: string }).error).toBe('invalid_token');
    const cfg = await oidc.dynamicClientRegistration(new URL(s.url), PUBLIC_APP, oidc.None(), { ...insecure, initialAccessToken: IAT });
    const meta = cfg.clientMetadata();
    expect(meta.client_id).toBeTruthy();
    expect(meta.token_endpoint_auth_method).toBe('none');
    expect(meta.client_secret).toBeUndefined();
    expect(await oauthError(oidc.dynamicClientRegistration(new URL(s.url), PUBLIC_APP, oidc.None(), { ...insecure, initialAccessToken: `${IAT}x` }))).toBe('invalid_token');
  });
});

describe('open (MCP clients)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ env: { OAUTH_DYNAMIC_REGISTRATION: 'open' } });
  }, 60_000);
  afterAll(() => s?.stop());

  test('discover from the protected resource, register a public client, start a code flow with PKCE and a resource', async () => {
    const pr = (await (await fetch(`${s.url}/.well-known/oauth-protected-resource`)).json()) as Record<string, any>;
    const cfg = await oidc.dynamicClientRegistration(new URL(pr.authorization_servers[0]), PUBLIC_APP, oidc.None(), insecure);
    expect(cfg.serverMetadata().registration_endpoint).toBe(`${s.url}/oauth/register`);
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: PUBLIC_APP.redirect_uris[0],
      scope: 'openid members:read',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      resource: pr.resource,
    });
    const r = await fetch(url, { redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(new URL(r.headers.get('location')!, s.url).pathname).toMatch(/^\/oauth-consent\//);
  });

  test('a confidential client (one with a secret) cannot register itself; Latchkey-only fields are ignored', async () => {
    const r = await fetch(`${s.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...PUBLIC_APP, token_endpoint_auth_method: 'client_secret_basic' }),
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toBe('invalid_client_metadata');
    const own = await fetch(`${s.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...PUBLIC_APP, organization_id: '01M8RRT8B34D16HBPGMMJ094YB', created_by: 'x' }),
    });
    expect(own.status).toBe(201);
    const body = (await own.json()) as Record<string, unknown>;
    expect(body.organization_id).toBeUndefined();
    expect(body.created_by).toBeUndefined();
  });
});
