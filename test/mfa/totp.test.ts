// TOTP: enrolment (QR, recovery codes once), the sign-in challenge over REST and gRPC, a code usable
// once, ±1 step accepted and further refused, recovery codes once each, disabling with a code.
import { type ConnectError, createClient } from '@connectrpc/connect';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { MfaService } from '../../gen/latchkey/v1/mfa_pb.js';
import { PASSWORD, signUpAndIn } from '../helpers/accounts.js';
import { rest, sessionCookieOf, transport } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { challengeFor, codeAt, complete, enrolTotp } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s?.stop());

const me = (cookie: string) => rest(s.url, 'GET', '/api/user/me', { headers: { cookie } });

describe('TOTP', () => {
  it('enrols with a QR code, turns on with a first code and shows ten recovery codes once', async () => {
    const u = await signUpAndIn(s.url);
    const e = await rest(s.url, 'POST', '/api/user/mfa/totp', { headers: { cookie: u.cookie }, body: {} });
    expect(e.status).toBe(200);
    expect(e.body.data.otpauthUri).toMatch(/^otpauth:\/\/totp\/Latchkey:.+\?.*secret=/);
    expect(e.body.data.qrCodeDataUrl).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(Buffer.from(e.body.data.qrCodeDataUrl.split(',')[1], 'base64').toString()).toContain('<svg');
    const wrong = await rest(s.url, 'POST', '/api/user/mfa/totp/confirm', { headers: { cookie: u.cookie }, body: { code: '000000' } });
    expect([wrong.status, wrong.body.reason]).toEqual([401, 'SECOND_FACTOR_INVALID']);
    const ok = await rest(s.url, 'POST', '/api/user/mfa/totp/confirm', { headers: { cookie: u.cookie }, body: { code: codeAt(s, e.body.data.secret) } });
    expect(ok.status).toBe(200);
    expect(ok.body.data.recoveryCodes).toHaveLength(10);
    expect(new Set(ok.body.data.recoveryCodes).size).toBe(10);
    const status = await rest(s.url, 'GET', '/api/user/mfa', { headers: { cookie: u.cookie } });
    expect(status.body.data).toMatchObject({ totpEnabled: true, recoveryCodesRemaining: 10 });
    expect(JSON.stringify(status.body)).not.toContain(ok.body.data.recoveryCodes[0]);
    const again = await rest(s.url, 'POST', '/api/user/mfa/totp', { headers: { cookie: u.cookie }, body: {} });
    expect(again.status).toBe(409);
  });

  it('sign-in returns a challenge and no session; the code completes it once (replay refused); ±1 step accepted, 3 steps refused', async () => {
    const u = await signUpAndIn(s.url);
    const { secret } = await enrolTotp(s, u.cookie);
    const r = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } });
    expect(r.status).toBe(200);
    expect(r.body.data.accessToken).toBe('');
    expect(r.body.data.secondFactorMethods).toEqual(['totp', 'recovery_code']);
    expect(r.headers.getSetCookie().some((c) => c.startsWith('latchkey_session='))).toBe(false);

    // The confirm code's step is spent: the same code (and earlier ones) are refused.
    const replay = await complete(s, r.body.data.secondFactorChallenge, codeAt(s, secret));
    expect([replay.status, replay.body.reason]).toEqual([401, 'SECOND_FACTOR_INVALID']);
    const tooFar = await complete(s, r.body.data.secondFactorChallenge, codeAt(s, secret, 3));
    expect(tooFar.status).toBe(401);
    const plusOne = await complete(s, r.body.data.secondFactorChallenge, codeAt(s, secret, 1));
    expect(plusOne.status).toBe(200);
    expect(plusOne.body.data.accessToken).not.toBe('');
    expect((await me(sessionCookieOf(plusOne))).status).toBe(200);
    // Spent challenge; spent code.
    expect((await complete(s, r.body.data.secondFactorChallenge, codeAt(s, secret, 1))).body.reason).toBe('CHALLENGE_INVALID');
    expect((await complete(s, await challengeFor(s, u.email), codeAt(s, secret, 1))).status).toBe(401);

    // Later, one step behind the server's clock still works.
    s.clock.advance(120);
    try {
      const minusOne = await complete(s, await challengeFor(s, u.email), codeAt(s, secret, -1));
      expect(minusOne.status).toBe(200);
    } finally {
      s.clock.advance(-120);
    }
  });

  it('a challenge dies after 5 wrong codes, and each failure is audited', async () => {
    const u = await signUpAndIn(s.url);
    const { secret } = await enrolTotp(s, u.cookie);
    const ch = await challengeFor(s, u.email);
    for (let i = 0; i < 5; i++) expect((await complete(s, ch, '123456')).body.reason).toBe('SECOND_FACTOR_INVALID');
    expect((await complete(s, ch, codeAt(s, secret, 1))).body.reason).toBe('CHALLENGE_INVALID');
    const events = await rest(s.url, 'GET', `/api/user/organizations/${u.organizationId}/audit-events`, { headers: { cookie: u.cookie } });
    const types = events.body.data.auditEvents.map((e: { type: string }) => e.type);
    expect(types.filter((t: string) => t === 'mfa.challenge_failed')).toHaveLength(5);
    expect(types).toContain('mfa.totp_enrolled');
    expect(JSON.stringify(events.body)).not.toContain(secret);
  });

  it('recovery codes complete a sign-in once each', async () => {
    const u = await signUpAndIn(s.url);
    const { recoveryCodes } = await enrolTotp(s, u.cookie);
    const first = await complete(s, await challengeFor(s, u.email), recoveryCodes[0].toUpperCase());
    expect(first.status).toBe(200);
    const reused = await complete(s, await challengeFor(s, u.email), recoveryCodes[0]);
    expect([reused.status, reused.body.reason]).toEqual([401, 'SECOND_FACTOR_INVALID']);
    expect((await complete(s, await challengeFor(s, u.email), recoveryCodes[1])).status).toBe(200);
    const status = await rest(s.url, 'GET', '/api/user/mfa', { headers: { cookie: u.cookie } });
    expect(status.body.data.recoveryCodesRemaining).toBe(8);
  });

  it('over gRPC: SignIn answers a challenge, CompleteSecondFactor gives the tokens', async () => {
    const u = await signUpAndIn(s.url);
    const { secret } = await enrolTotp(s, u.cookie);
    const t = transport(s.url, 'grpc');
    const auth = createClient(AuthService, t);
    const mfa = createClient(MfaService, t);
    const r = await auth.signIn({ email: u.email, password: PASSWORD });
    expect(r.accessToken).toBe('');
    expect(r.secondFactorChallenge).not.toBe('');
    const bad = await mfa.completeSecondFactor({ challengeToken: r.secondFactorChallenge, code: '999999' }).catch((e) => e as ConnectError);
    expect((bad as ConnectError).code).toBe(16); // unauthenticated
    const done = await mfa.completeSecondFactor({ challengeToken: r.secondFactorChallenge, code: codeAt(s, secret, 1) });
    const whoami = await auth.getMe({}, { headers: { authorization: `Bearer ${done.accessToken}` } });
    expect(whoami.user?.email).toBe(u.email);
  });

  it('turns off with a current code; sign-in then starts a session at once', async () => {
    const u = await signUpAndIn(s.url);
    const { secret } = await enrolTotp(s, u.cookie);
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    const wrong = await rest(s.url, 'POST', '/api/user/mfa/totp/disable', { headers: { cookie: u.cookie }, body: { code: '111111' } });
    expect(wrong.status).toBe(401);
    const off = await rest(s.url, 'POST', '/api/user/mfa/totp/disable', {
      headers: { cookie: u.cookie },
      body: { code: totp.generate({ timestamp: s.clock.now().getTime() + 30_000 }) },
    });
    expect(off.status).toBe(200);
    const r = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } });
    expect(r.body.data.secondFactorChallenge).toBe('');
    expect(r.body.data.accessToken).not.toBe('');
  });
});
