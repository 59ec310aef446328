// GET /api/auth/token (TokenService.GetAccessToken): the session cookie in, a JWT out, as Better
// Auth's endpoint; the JWT authenticates, dies with its session, and other credentials are refused.
import { createClient } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenService } from '../../gen/latchkey/v1/token_pb.js';
import { cookie, createKey, newUser, startWorld, type World } from '../apikey/fixtures.js';
import type { TestUser } from '../helpers/accounts.js';
import { rest, transport } from '../helpers/clients.js';

let w: World;
let u: TestUser;
beforeAll(async () => {
  w = await startWorld();
  u = await newUser(w, 'Tokened');
});
afterAll(() => w?.stop());

describe('GET /api/auth/token', () => {
  it('answers the bare {token, expires_at} for a session cookie; the token authenticates as the user', async () => {
    const r = await rest(w.url, 'GET', '/api/auth/token', { headers: cookie(u) });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body).toEqual({ token: expect.stringMatching(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/), expires_at: expect.any(String) });
    expect(Date.parse(r.body.expires_at)).toBeGreaterThan(Date.now());
    const me = await rest(w.url, 'GET', '/api/user/me', { headers: { authorization: `Bearer ${r.body.token}` } });
    expect(me.status).toBe(200);
    expect(me.body.data.id).toBe(u.userId);
  });

  it('is the same RPC over Connect (TokenService.GetAccessToken)', async () => {
    const c = createClient(TokenService, transport(w.url, 'connect'));
    const res = await c.getAccessToken({}, { headers: { cookie: u.cookie } });
    expect(res.token.split('.')).toHaveLength(3);
  });

  it('401 without a session, 403 for an API key or an access token', async () => {
    expect((await rest(w.url, 'GET', '/api/auth/token')).status).toBe(401);
    expect((await rest(w.url, 'GET', '/api/auth/token', { headers: { cookie: 'latchkey_session=nope' } })).status).toBe(401);
    const key = await createKey(w, cookie(u, { orgid: u.organizationId }), { scopes: ['user:read'] });
    const byKey = await rest(w.url, 'GET', '/api/auth/token', { headers: { 'x-api-key': key.key } });
    expect(byKey.status).toBe(403);
    const jwt = (await rest(w.url, 'GET', '/api/auth/token', { headers: cookie(u) })).body.token;
    const byJwt = await rest(w.url, 'GET', '/api/auth/token', { headers: { authorization: `Bearer ${jwt}` } });
    expect(byJwt.status).toBe(403);
  });

  it('after sign-out: the cookie gets 401 and the issued token stops working', async () => {
    const v = await newUser(w, 'Leaving');
    const jwt = (await rest(w.url, 'GET', '/api/auth/token', { headers: cookie(v) })).body.token;
    expect((await rest(w.url, 'POST', '/api/auth/sign-out', { headers: cookie(v), body: {} })).status).toBe(200);
    expect((await rest(w.url, 'GET', '/api/auth/token', { headers: cookie(v) })).status).toBe(401);
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: { authorization: `Bearer ${jwt}` } })).status).toBe(401);
  });
});
