// Email verification, password reset and the session list, with the emails received over SMTP.
import { RequestContext } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { PASSWORD, signUpAndIn, uniqueEmail } from '../helpers/accounts.js';
import { client, rest, sessionCookieOf } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { linkOf, type SmtpSink, startSmtp, tokenOf } from '../helpers/smtp.js';

let smtp: SmtpSink;
let s: TestServer;
beforeAll(async () => {
  smtp = await startSmtp();
  s = await startServer({ env: { SMTP_URL: smtp.url } });
});
afterAll(async () => {
  await s?.stop();
  await smtp?.stop();
});

const NEW_PASSWORD = 'another-long-passphrase';

async function signIn(email: string, password = PASSWORD, userAgent = 'test-agent') {
  return rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password }, headers: { 'user-agent': userAgent } });
}

describe('email verification', () => {
  it('SignUp emails a 24 h link; following it verifies; GetMe shows isVerified and verifiedAt', async () => {
    const u = await signUpAndIn(s.url);
    const mail = await smtp.nextMail(u.email);
    expect(mail.subject).toBe('Verify your email address');
    expect(mail.from).toContain('no-reply@');
    const link = linkOf(mail);
    expect(link.startsWith(`${s.config.publicUrl}/verify-email?token=`)).toBe(true); // the console page
    expect(mail.html).toContain(link.replace(/&/g, '&amp;'));

    const before = await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: u.cookie } });
    expect(before.body.data).toMatchObject({ isVerified: false });
    const api = `${s.url}/api/auth/verify-email?token=${new URL(link).searchParams.get('token')}`; // the REST route the page's RPC also has
    const res = await fetch(api);
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).data.user).toMatchObject({ id: u.userId, isVerified: true });
    const me = await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: u.cookie } });
    expect(me.body.data.isVerified).toBe(true);
    expect(Date.parse(me.body.data.verifiedAt)).toBeGreaterThan(Date.now() - 60_000);

    const again = await fetch(api);
    expect(again.status).toBe(401);
    expect(((await again.json()) as any).message).toBe('Verification link already used');
  });

  it('an expired link says so; an unknown one is refused', async () => {
    const u = await signUpAndIn(s.url);
    const token = tokenOf(await smtp.nextMail(u.email));
    s.clock.advance(24 * 3600 + 1);
    try {
      const res = await rest(s.url, 'GET', `/api/auth/verify-email?token=${token}`);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'UNAUTHORIZED', message: 'Verification link expired: request a new one' });
    } finally {
      s.clock.advance(-(24 * 3600 + 1));
    }
    expect((await rest(s.url, 'GET', '/api/auth/verify-email?token=nope')).body.message).toBe('Invalid verification link');
  });

  it('over gRPC', async () => {
    const email = uniqueEmail('grpc');
    const grpc = client(AuthService, s.url, 'grpc');
    await grpc.signUp({ email, password: PASSWORD, name: 'G' });
    const res = await grpc.verifyEmail({ token: tokenOf(await smtp.nextMail(email)) });
    expect(res.user?.isVerified).toBe(true);
  });
});

describe('password reset', () => {
  it('answers the same for known and unknown emails; only the known one gets an email', async () => {
    const u = await signUpAndIn(s.url);
    await smtp.nextMail(u.email);
    const unknown = uniqueEmail('ghost');
    const a = await rest(s.url, 'POST', '/api/auth/forget-password', { body: { email: u.email } });
    const b = await rest(s.url, 'POST', '/api/auth/forget-password', { body: { email: unknown } });
    expect(a.status).toBe(200);
    expect(b.status).toBe(a.status);
    expect(b.body).toEqual(a.body);
    expect((await smtp.nextMail(u.email)).subject).toBe('Reset your password');
    // Both requests have answered, so any email they started is in flight: wait for it to land.
    await s.deps.mailer.idle();
    expect(smtp.unread(unknown)).toHaveLength(0);
  });

  it('sets the new password once and ends every session, access token and refresh token of the user', async () => {
    const u = await signUpAndIn(s.url);
    await smtp.nextMail(u.email);
    const other = await signIn(u.email);
    const { accessToken, refreshToken } = other.body.data;
    await rest(s.url, 'POST', '/api/auth/forget-password', { body: { email: u.email } });
    const mail = await smtp.nextMail(u.email);
    expect(linkOf(mail).startsWith(`${s.config.publicUrl}/reset-password?token=`)).toBe(true);
    const token = tokenOf(mail);

    const short = await rest(s.url, 'POST', '/api/auth/reset-password', { body: { token, newPassword: 'short' } });
    expect(short.body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', field: 'newPassword' });
    const ok = await rest(s.url, 'POST', '/api/auth/reset-password', { body: { token, newPassword: NEW_PASSWORD } });
    expect(ok.status).toBe(200);

    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: u.cookie } })).status).toBe(401);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: sessionCookieOf(other) } })).status).toBe(401);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(401);
    expect((await rest(s.url, 'POST', '/user/refresh', { body: { refreshToken } })).status).toBe(401);
    expect((await signIn(u.email)).status).toBe(401);
    expect((await signIn(u.email, NEW_PASSWORD)).status).toBe(200);

    const reuse = await rest(s.url, 'POST', '/api/auth/reset-password', { body: { token, newPassword: 'yet-another-passphrase' } });
    expect(reuse.status).toBe(400);
    expect(reuse.body.message).toBe('Password reset link already used');
  });

  it('a reset link expires after 1 hour', async () => {
    const u = await signUpAndIn(s.url);
    await smtp.nextMail(u.email);
    await rest(s.url, 'POST', '/api/auth/forget-password', { body: { email: u.email } });
    const token = tokenOf(await smtp.nextMail(u.email));
    s.clock.advance(3600 + 1);
    try {
      const res = await rest(s.url, 'POST', '/api/auth/reset-password', { body: { token, newPassword: NEW_PASSWORD } });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('Password reset link expired: request a new one');
    } finally {
      s.clock.advance(-(3600 + 1));
    }
    expect((await signIn(u.email)).status).toBe(200);
  });

  it('over gRPC', async () => {
    const u = await signUpAndIn(s.url);
    await smtp.nextMail(u.email);
    const grpc = client(AuthService, s.url, 'grpc');
    await grpc.requestPasswordReset({ email: u.email });
    await grpc.resetPassword({ token: tokenOf(await smtp.nextMail(u.email)), newPassword: NEW_PASSWORD });
    expect((await grpc.signIn({ email: u.email, password: NEW_PASSWORD })).accessToken).toMatch(/^eyJ/);
  });
});

describe('sessions', () => {
  it('lists the live sessions newest first, with device, IP and times, marking the current one', async () => {
    const u = await signUpAndIn(s.url);
    const phone = await signIn(u.email, PASSWORD, 'Phone/1.0');
    const laptop = await signIn(u.email, PASSWORD, 'Laptop/2.0');
    const res = await rest(s.url, 'GET', '/api/user/sessions', { headers: { cookie: sessionCookieOf(laptop) } });
    expect(res.status).toBe(200);
    const list = res.body.data.sessions;
    expect(list).toHaveLength(3);
    expect(list[0]).toMatchObject({ id: laptop.body.data.sessionId, userAgent: 'Laptop/2.0', ip: '127.0.0.1', current: true });
    expect(list[1]).toMatchObject({ id: phone.body.data.sessionId, userAgent: 'Phone/1.0', current: false });
    for (const x of list) expect(Object.keys(x)).toEqual(expect.arrayContaining(['createdAt', 'lastSeenAt', 'expiresAt']));

    const page = await rest(s.url, 'GET', '/api/user/sessions?pageSize=2', { headers: { cookie: sessionCookieOf(laptop) } });
    expect(page.body.data.sessions).toHaveLength(2);
    const rest2 = await rest(s.url, 'GET', `/api/user/sessions?pageSize=2&pageToken=${page.body.data.nextPageToken}`, { headers: { cookie: sessionCookieOf(laptop) } });
    expect(rest2.body.data.sessions.map((x: any) => x.id)).toEqual([list[2].id]);
    expect(rest2.body.data.nextPageToken).toBe('');
  });

  it('RevokeSession ends another device at once (cookie, JWT and refresh); 404 for a stranger', async () => {
    const u = await signUpAndIn(s.url);
    const lost = await signIn(u.email, PASSWORD, 'Lost phone');
    const del = await rest(s.url, 'DELETE', `/api/user/sessions/${lost.body.data.sessionId}`, { headers: { cookie: u.cookie } });
    expect(del.status).toBe(200);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: sessionCookieOf(lost) } })).status).toBe(401);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { authorization: `Bearer ${lost.body.data.accessToken}` } })).status).toBe(401);
    expect((await rest(s.url, 'POST', '/user/refresh', { body: { refreshToken: lost.body.data.refreshToken } })).status).toBe(401);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: u.cookie } })).status).toBe(200);
    const twice = await rest(s.url, 'DELETE', `/api/user/sessions/${lost.body.data.sessionId}`, { headers: { cookie: u.cookie } });
    expect(twice.status).toBe(404);

    const stranger = await signUpAndIn(s.url);
    const theirs = await signIn(stranger.email);
    const res = await rest(s.url, 'DELETE', `/api/user/sessions/${theirs.body.data.sessionId}`, { headers: { cookie: u.cookie } });
    expect(res.status).toBe(404);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: sessionCookieOf(theirs) } })).status).toBe(200);
  });

  it('SignOut ends the session and its refresh family and clears the cookie; API keys have no session', async () => {
    const u = await signUpAndIn(s.url);
    const t = await signIn(u.email);
    const out = await rest(s.url, 'POST', '/api/auth/sign-out', { headers: { cookie: sessionCookieOf(t) }, body: {} });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie()[0]).toMatch(/^latchkey_session=; .*Max-Age=0/);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: sessionCookieOf(t) } })).status).toBe(401);
    expect((await rest(s.url, 'POST', '/user/refresh', { body: { refreshToken: t.body.data.refreshToken } })).status).toBe(401);
  });

  it('a cookie-authenticated request is served from memory once warm', async () => {
    const u = await signUpAndIn(s.url);
    const token = u.cookie.split('=')[1];
    const inRequest = <T>(fn: () => Promise<T>) => RequestContext.create(s.deps.db.orm.em, fn);
    const conn = s.deps.db.orm.em.getConnection();
    const original = conn.execute.bind(conn);
    let queries = 0;
    (conn as any).execute = (...args: any[]) => {
      queries++;
      return (original as any)(...args);
    };
    try {
      // Cold (a token this replica has not seen): one lookup. Warm: none.
      expect(await inRequest(() => s.deps.sessions.authenticate('x'.repeat(43)))).toBeUndefined();
      expect(queries).toBeGreaterThan(0);
      await rest(s.url, 'GET', '/api/user/sessions', { headers: { cookie: u.cookie } });
      queries = 0;
      expect(await inRequest(() => s.deps.sessions.authenticate(token))).toMatchObject({ userId: u.userId });
      expect(queries).toBe(0);
    } finally {
      (conn as any).execute = original;
    }
  });
});
