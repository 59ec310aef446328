// The sign-in challenge beyond the password: magic links and codes go through it too (REST and
// gRPC), it expires after 5 minutes, and bad passkey assertions or unknown challenges are refused.
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { MfaService } from '../../gen/latchkey/v1/mfa_pb.js';
import { signUpAndIn } from '../helpers/accounts.js';
import { rest, sessionCookieOf, transport } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { codeOf, type SmtpSink, startSmtp, tokenOf } from '../helpers/smtp.js';
import { challengeFor, codeAt, complete, enrolTotp } from './helpers.js';

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

/** The next email of a kind to `email` (sign-up also sends a verification email). */
async function mailLike(email: string, subject: RegExp) {
  for (;;) {
    const m = await smtp.nextMail(email);
    if (subject.test(m.subject)) return m;
  }
}

describe('sign-in challenge', () => {
  it('a magic link of an account with TOTP answers a challenge, not a session (REST)', async () => {
    const u = await signUpAndIn(s.url);
    const { secret } = await enrolTotp(s, u.cookie);
    await rest(s.url, 'GET', `/magic-link?email=${encodeURIComponent(u.email)}&type=link`);
    const r = await rest(s.url, 'POST', '/magic-link/redirect', { body: { token: tokenOf(await mailLike(u.email, /sign-in link/i)) } });
    expect(r.status).toBe(200);
    expect(r.body.data.accessToken).toBe('');
    expect(r.body.data.secondFactorChallenge).not.toBe('');
    expect(r.headers.getSetCookie().some((c) => c.startsWith('latchkey_session='))).toBe(false);
    const done = await complete(s, r.body.data.secondFactorChallenge, codeAt(s, secret, 1));
    expect(done.status).toBe(200);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: sessionCookieOf(done) } })).body.data.email).toBe(u.email);
  });

  it('a 6-digit magic code over gRPC answers a challenge too', async () => {
    const u = await signUpAndIn(s.url);
    const { secret } = await enrolTotp(s, u.cookie);
    const auth = createClient(AuthService, transport(s.url, 'grpc'));
    await auth.requestMagicLink({ email: u.email, type: 'code' });
    const r = await auth.redeemMagicLink({ email: u.email, code: codeOf(await mailLike(u.email, /sign-in code/i)) });
    expect(r.accessToken).toBe('');
    expect(r.secondFactorMethods).toContain('totp');
    const done = await createClient(MfaService, transport(s.url, 'grpc')).completeSecondFactor({ challengeToken: r.secondFactorChallenge, code: codeAt(s, secret, 1) });
    expect(done.accessToken).not.toBe('');
  });

  it('expires after 5 minutes; unknown challenges and bad passkey assertions are refused', async () => {
    const u = await signUpAndIn(s.url);
    const { secret } = await enrolTotp(s, u.cookie);
    const ch = await challengeFor(s, u.email);
    const junk = await rest(s.url, 'POST', '/api/user/mfa/challenge', { body: { challengeToken: ch, passkeyResponseJson: '{"id":"nope","response":{}}' } });
    expect([junk.status, junk.body.reason]).toEqual([401, 'SECOND_FACTOR_INVALID']);
    const unknown = await rest(s.url, 'POST', '/api/user/mfa/passkeys/assertion-options', { body: { challengeToken: 'not-a-challenge' } });
    expect([unknown.status, unknown.body.reason]).toEqual([401, 'CHALLENGE_INVALID']);
    const empty = await rest(s.url, 'POST', '/api/user/mfa/challenge', { body: {} });
    expect([empty.status, empty.body.code]).toEqual([400, 'VALIDATION_ERROR']);
    s.clock.advance(5 * 60 + 1);
    try {
      const late = await complete(s, ch, codeAt(s, secret));
      expect([late.status, late.body.reason]).toEqual([401, 'CHALLENGE_INVALID']);
      const err = await createClient(MfaService, transport(s.url, 'grpc'))
        .completeSecondFactor({ challengeToken: ch, code: codeAt(s, secret) })
        .catch((e) => ConnectError.from(e));
      expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    } finally {
      s.clock.advance(-(5 * 60 + 1));
    }
  });
});
