// CSRF: a state-changing request authenticated by the session cookie must come from Latchkey's own
// origin (PUBLIC_URL) or a CORS_ORIGINS one; bearer credentials and reads are not affected.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { PASSWORD, signUpAndIn } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ env: { CORS_ORIGINS: 'https://app.example.com' } });
});
afterAll(() => s?.stop());

const EVIL = 'https://evil.example';

describe('cookie + state-changing RPC', () => {
  it('refuses a foreign Origin with 403, and the session survives', async () => {
    const u = await signUpAndIn(s.url);
    const res = await rest(s.url, 'POST', '/api/auth/sign-out', { headers: { cookie: u.cookie, origin: EVIL }, body: {} });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ success: false, code: 'FORBIDDEN', message: expect.stringMatching(/Cross-origin/) });
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: u.cookie } })).status).toBe(200);
  });

  it('refuses a cross-site fetch without Origin, and Origin "null"', async () => {
    const u = await signUpAndIn(s.url);
    expect((await rest(s.url, 'POST', '/api/auth/sign-out', { headers: { cookie: u.cookie, 'sec-fetch-site': 'cross-site' }, body: {} })).status).toBe(403);
    expect((await rest(s.url, 'POST', '/api/auth/sign-out', { headers: { cookie: u.cookie, origin: 'null' }, body: {} })).status).toBe(403);
  });

  it('over Connect too (permission_denied)', async () => {
    const u = await signUpAndIn(s.url);
    const c = client(AuthService, s.url, 'connect');
    await expect(c.signOut({}, { headers: { cookie: u.cookie, origin: EVIL } })).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.PermissionDenied);
  });

  it('accepts its own origin, a CORS_ORIGINS origin, same-origin fetch metadata, and no Origin (curl)', async () => {
    const variants: Record<string, string>[] = [{ origin: new URL(s.url).origin }, { origin: 'https://app.example.com' }, { 'sec-fetch-site': 'same-origin', origin: 'http://localhost:1' }, {}];
    for (const headers of variants) {
      const u = await signUpAndIn(s.url);
      const res = await rest(s.url, 'POST', '/api/auth/sign-out', { headers: { cookie: u.cookie, ...headers }, body: {} });
      expect(res.status).toBe(200);
    }
  });

  it('does not apply to reads, nor to bearer credentials (never sent implicitly by a browser)', async () => {
    const u = await signUpAndIn(s.url);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: u.cookie, origin: EVIL } })).status).toBe(200);
    const t = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } });
    const res = await rest(s.url, 'POST', '/api/auth/sign-out', { headers: { authorization: `Bearer ${t.body.data.accessToken}`, origin: EVIL }, body: {} });
    expect(res.status).toBe(200);
  });
});
