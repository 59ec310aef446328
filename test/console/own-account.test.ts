// The RPCs the console added: UpdateMe, GetPasswordStatus, SetPassword — over REST (as curl) and
// gRPC, with the rules a stolen session or a leaked key must not get around.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { PASSWORD, signUpAndIn, uniqueEmail } from '../helpers/accounts.js';
import { client, rest, sessionCookieOf } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { type SmtpSink, startSmtp, tokenOf } from '../helpers/smtp.js';

let s: TestServer;
let smtp: SmtpSink;
beforeAll(async () => {
  smtp = await startSmtp();
  s = await startServer({ env: { SMTP_URL: smtp.url } });
});
afterAll(async () => {
  await s?.stop();
  await smtp?.stop();
});

const signIn = (email: string, password: string) => rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password } });

async function magicLinkUser(): Promise<{ email: string; cookie: string }> {
  const email = uniqueEmail('nopass');
  await rest(s.url, 'GET', `/magic-link?email=${encodeURIComponent(email)}&type=link`);
  const r = await rest(s.url, 'POST', '/magic-link/redirect', { body: { token: tokenOf(await smtp.nextMail(email)) } });
  expect(r.status).toBe(200);
  return { email, cookie: sessionCookieOf(r) };
}

describe('UpdateMe', () => {
  it('renames the caller (PATCH /api/user/me); GetMe shows it at once; a too-long name is a 400 naming the field', async () => {
    const u = await signUpAndIn(s.url);
    const r = await rest(s.url, 'PATCH', '/api/user/me', { body: { fullName: '  New Name ' }, headers: { cookie: u.cookie } });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ id: u.userId, fullName: 'New Name' });
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: u.cookie } })).body.data.fullName).toBe('New Name');
    const bad = await rest(s.url, 'PATCH', '/api/user/me', { body: { fullName: 'x'.repeat(201) }, headers: { cookie: u.cookie } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'VALIDATION_ERROR', field: 'fullName' });
    expect((await rest(s.url, 'PATCH', '/api/user/me', { body: { fullName: 'x' } })).status).toBe(401);
  });
});

describe('GetPasswordStatus and SetPassword', () => {
  it('a magic-link account has no password, sets one without a current password, then signs in with it', async () => {
    const u = await magicLinkUser();
    expect((await rest(s.url, 'GET', '/api/user/password', { headers: { cookie: u.cookie } })).body.data).toEqual({ hasPassword: false });
    const set = await rest(s.url, 'POST', '/api/user/password', { body: { newPassword: 'my-first-password' }, headers: { cookie: u.cookie } });
    expect(set.status).toBe(200);
    expect((await rest(s.url, 'GET', '/api/user/password', { headers: { cookie: u.cookie } })).body.data).toEqual({ hasPassword: true });
    expect((await signIn(u.email, 'my-first-password')).status).toBe(200);
  });

  it('changing a password needs the current one (401 naming currentPassword); other sessions end, the caller stays signed in', async () => {
    const u = await signUpAndIn(s.url);
    const other = sessionCookieOf(await signIn(u.email, PASSWORD));
    const missing = await rest(s.url, 'POST', '/api/user/password', { body: { newPassword: 'another-password-1' }, headers: { cookie: u.cookie } });
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ code: 'UNAUTHORIZED', field: 'currentPassword' });
    const wrong = await rest(s.url, 'POST', '/api/user/password', { body: { currentPassword: 'not-it-at-all', newPassword: 'another-password-1' }, headers: { cookie: u.cookie } });
    expect(wrong.status).toBe(401);
    const short = await rest(s.url, 'POST', '/api/user/password', { body: { currentPassword: PASSWORD, newPassword: 'short' }, headers: { cookie: u.cookie } });
    expect(short.body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', field: 'newPassword' });
    expect((await signIn(u.email, PASSWORD)).status).toBe(200); // nothing changed so far

    const ok = await rest(s.url, 'POST', '/api/user/password', { body: { currentPassword: PASSWORD, newPassword: 'another-password-1' }, headers: { cookie: u.cookie } });
    expect(ok.status).toBe(200);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: u.cookie } })).status).toBe(200);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: other } })).status).toBe(401);
    expect((await signIn(u.email, PASSWORD)).status).toBe(401);
    expect((await signIn(u.email, 'another-password-1')).status).toBe(200);
  });

  it('an API key cannot set the password, even with user:write; gRPC answers like REST', async () => {
    const u = await signUpAndIn(s.url);
    const key = (await rest(s.url, 'POST', '/api/auth/api-key/create', { body: { name: 'k', scopes: ['user:read', 'user:write'] }, headers: { cookie: u.cookie } })).body.data.key;
    const r = await rest(s.url, 'POST', '/api/user/password', { body: { currentPassword: PASSWORD, newPassword: 'taken-over-account' }, headers: { 'x-api-key': key } });
    expect(r.status).toBe(403);
    expect((await signIn(u.email, PASSWORD)).status).toBe(200);
    const grpc = client(AuthService, s.url, 'grpc');
    const status = await grpc.getPasswordStatus({}, { headers: { 'x-api-key': key } });
    expect(status.hasPassword).toBe(true);
    await expect(grpc.setPassword({ currentPassword: PASSWORD, newPassword: 'taken-over-account' }, { headers: { 'x-api-key': key } })).rejects.toMatchObject({ code: 7 });
  });

  it('the browser CSRF rule holds: a cookie from another origin cannot change the password', async () => {
    const u = await signUpAndIn(s.url);
    const r = await rest(s.url, 'POST', '/api/user/password', {
      body: { currentPassword: PASSWORD, newPassword: 'csrf-password-123' },
      headers: { cookie: u.cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(r.status).toBe(403);
    expect((await signIn(u.email, PASSWORD)).status).toBe(200);
  });
});
