// Seed 000: passwordless sign-in by emailed link or 6-digit code, received over real SMTP.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { signUpAndIn, uniqueEmail } from '../helpers/accounts.js';
import { client, rest, sessionCookieOf } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { codeOf, linkOf, type SmtpSink, startSmtp, tokenOf } from '../helpers/smtp.js';

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

/** A signed-up user whose verification email has been read. */
async function user() {
  const u = await signUpAndIn(s.url);
  await smtp.nextMail(u.email);
  return u;
}

describe('magic link (GET /magic-link?type=link, POST /magic-link/redirect)', () => {
  it('emails a link built from PUBLIC_URL; redeeming it signs in like SignIn (cookie + tokens)', async () => {
    const u = await user();
    const req = await rest(s.url, 'GET', `/magic-link?email=${encodeURIComponent(u.email)}&type=link`);
    expect(req.status).toBe(200);
    expect(req.body).toMatchObject({ success: true, data: {} });
    const mail = await smtp.nextMail(u.email);
    expect(mail.subject).toBe('Your sign-in link');
    expect(linkOf(mail).startsWith(`${s.config.publicUrl}/magic-link/redirect?token=`)).toBe(true);
    expect(mail.html).toContain('href=');
    const token = tokenOf(mail);
    expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16);

    const res = await rest(s.url, 'POST', '/magic-link/redirect', { body: { token } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ user: { id: u.userId, email: u.email, isVerified: true }, sessionId: expect.any(String) });
    expect(res.body.data.accessToken).toMatch(/^eyJ/);
    expect(res.body.data.refreshToken).toMatch(/^[\w-]{43}$/);
    const me = await rest(s.url, 'GET', '/profile/whoami', { headers: { cookie: sessionCookieOf(res), orgid: u.organizationId } });
    expect(me.body.data.id).toBe(u.userId);
    const jwt = await rest(s.url, 'GET', '/profile/whoami', { headers: { authorization: `Bearer ${res.body.data.accessToken}`, orgid: u.organizationId } });
    expect(jwt.body.data.id).toBe(u.userId);
  });

  it('is single use', async () => {
    const u = await user();
    await rest(s.url, 'POST', '/api/auth/magic-link', { body: { email: u.email } });
    const token = tokenOf(await smtp.nextMail(u.email));
    expect((await rest(s.url, 'POST', '/magic-link/redirect', { body: { token } })).status).toBe(200);
    const again = await rest(s.url, 'POST', '/magic-link/redirect', { body: { token } });
    expect(again.status).toBe(401);
    expect(again.body).toEqual({ success: false, status: 401, code: 'UNAUTHORIZED', message: 'Invalid or expired sign-in link or code', reason: 'ONE_TIME_TOKEN_INVALID' });
  });

  it('concurrent redemptions of one link: exactly one succeeds', async () => {
    const u = await user();
    await rest(s.url, 'POST', '/api/auth/magic-link', { body: { email: u.email } });
    const token = tokenOf(await smtp.nextMail(u.email));
    const all = await Promise.all(Array.from({ length: 8 }, () => rest(s.url, 'POST', '/magic-link/redirect', { body: { token } })));
    expect(all.filter((r) => r.status === 200)).toHaveLength(1);
    expect(all.filter((r) => r.status === 401)).toHaveLength(7);
  });

  it('expires after 15 minutes', async () => {
    const u = await user();
    await rest(s.url, 'POST', '/api/auth/magic-link', { body: { email: u.email, type: 'link' } });
    const token = tokenOf(await smtp.nextMail(u.email));
    s.clock.advance(15 * 60 + 1);
    try {
      expect((await rest(s.url, 'POST', '/magic-link/redirect', { body: { token } })).status).toBe(401);
    } finally {
      s.clock.advance(-(15 * 60 + 1));
    }
  });

  it('answers an unknown email exactly like a known one, and sends it a sign-up link that creates the account', async () => {
    const known = await user();
    const unknown = uniqueEmail('newcomer');
    const a = await rest(s.url, 'GET', `/magic-link?email=${encodeURIComponent(known.email)}&type=link`);
    const b = await rest(s.url, 'GET', `/magic-link?email=${encodeURIComponent(unknown)}&type=link`);
    expect(b.status).toBe(a.status);
    expect(b.body).toEqual(a.body);
    await smtp.nextMail(known.email);
    const mail = await smtp.nextMail(unknown);
    expect(mail.subject).toBe('Finish creating your account');
    const res = await rest(s.url, 'POST', '/magic-link/redirect', { body: { token: tokenOf(mail) } });
    expect(res.status).toBe(200);
    expect(res.body.data.user).toMatchObject({ email: unknown, isVerified: true, organizationCount: 1 });
    const orgs = await rest(s.url, 'GET', '/api/user/organizations', { headers: { cookie: sessionCookieOf(res) } });
    expect(orgs.body.data.organizations[0]).toMatchObject({ role: 'root_admin', type: 'personal' });
  });

  it('validates the email and the type', async () => {
    expect((await rest(s.url, 'GET', '/magic-link?email=nope&type=link')).body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', field: 'email' });
    expect((await rest(s.url, 'GET', `/magic-link?email=${uniqueEmail()}&type=sms`)).body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', field: 'type' });
  });
});

describe('6-digit code (?type=code, POST /api/auth/magic-link/verify)', () => {
  it('emails a code; email + code signs in', async () => {
    const u = await user();
    expect((await rest(s.url, 'GET', `/magic-link?email=${encodeURIComponent(u.email)}&type=code`)).status).toBe(200);
    const mail = await smtp.nextMail(u.email);
    const code = codeOf(mail);
    expect(code).toMatch(/^\d{6}$/);
    const res = await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email: u.email, code } });
    expect(res.status).toBe(200);
    expect(res.body.data.user.id).toBe(u.userId);
    expect((await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email: u.email, code } })).status).toBe(401);
  });

  it('dies after 5 wrong tries, even for the right code', async () => {
    const u = await user();
    await rest(s.url, 'POST', '/api/auth/magic-link', { body: { email: u.email, type: 'code' } });
    const code = codeOf(await smtp.nextMail(u.email));
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < 5; i++) {
      const r = await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email: u.email, code: wrong } });
      expect(r.status).toBe(401);
    }
    const right = await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email: u.email, code } });
    expect(right.status).toBe(401);
    expect(right.body.message).toBe('Invalid or expired sign-in link or code');
  });

  it('4 wrong tries still leave the right code usable; parallel guesses never exceed 5 tries', async () => {
    const u = await user();
    await rest(s.url, 'POST', '/api/auth/magic-link', { body: { email: u.email, type: 'code' } });
    const code = codeOf(await smtp.nextMail(u.email));
    const wrong = String((Number(code) + 7) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < 4; i++) await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email: u.email, code: wrong } });
    expect((await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email: u.email, code } })).status).toBe(200);

    await rest(s.url, 'POST', '/api/auth/magic-link', { body: { email: u.email, type: 'code' } });
    const code2 = codeOf(await smtp.nextMail(u.email));
    const guesses = Array.from({ length: 20 }, (_, i) => String((Number(code2) + 1 + i) % 1_000_000).padStart(6, '0'));
    await Promise.all(guesses.map((g) => rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email: u.email, code: g } })));
    const rows = await s.deps.db.orm.em
      .fork()
      .getConnection()
      .execute<{ attempts: number }[]>(`select attempts from one_time_tokens where email = ? and purpose = 'magic_code' order by id desc limit 1`, [u.email]);
    expect(rows[0].attempts).toBe(5);
    expect((await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email: u.email, code: code2 } })).status).toBe(401);
  });

  it('expires after 10 minutes; a newer code replaces the older one', async () => {
    const u = await user();
    await rest(s.url, 'POST', '/api/auth/magic-link', { body: { email: u.email, type: 'code' } });
    const first = codeOf(await smtp.nextMail(u.email));
    await rest(s.url, 'POST', '/api/auth/magic-link', { body: { email: u.email, type: 'code' } });
    const second = codeOf(await smtp.nextMail(u.email));
    if (first !== second) expect((await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email: u.email, code: first } })).status).toBe(401);
    s.clock.advance(10 * 60 + 1);
    try {
      expect((await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email: u.email, code: second } })).status).toBe(401);
    } finally {
      s.clock.advance(-(10 * 60 + 1));
    }
  });

  it('an unknown email asking for a code gets the sign-up email with a code that creates the account', async () => {
    const email = uniqueEmail('coder');
    await rest(s.url, 'POST', '/api/auth/magic-link', { body: { email, type: 'code' } });
    const mail = await smtp.nextMail(email);
    expect(mail.subject).toBe('Finish creating your account');
    const res = await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email, code: codeOf(mail) } });
    expect(res.status).toBe(200);
    expect(res.body.data.user).toMatchObject({ email, isVerified: true });
  });

  it('asks for a token or email and code', async () => {
    const r = await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email: uniqueEmail() } });
    expect(r.status).toBe(400);
  });
});

describe('over gRPC', () => {
  it('RequestMagicLink + RedeemMagicLink (code and link)', async () => {
    const u = await user();
    const grpc = client(AuthService, s.url, 'grpc');
    await grpc.requestMagicLink({ email: u.email, type: 'code' });
    const code = codeOf(await smtp.nextMail(u.email));
    const res = await grpc.redeemMagicLink({ email: u.email, code });
    expect(res.user?.id).toBe(u.userId);
    expect(res.accessToken).toMatch(/^eyJ/);

    await grpc.requestMagicLink({ email: u.email });
    const token = tokenOf(await smtp.nextMail(u.email));
    expect((await grpc.redeemMagicLink({ token })).sessionId).toBeTruthy();
    await expect(grpc.redeemMagicLink({ token })).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.Unauthenticated);
  });
});
