// TOTP codes computed by otpauth in the test, and the enrol / sign-in steps the mfa tests share.
import { Secret, TOTP } from 'otpauth';
import { PASSWORD } from '../helpers/accounts.js';
import { rest, sessionCookieOf } from '../helpers/clients.js';
import type { TestServer } from '../helpers/server.js';

/** The code for the step `steps` away from the server's current time. */
export function codeAt(s: TestServer, secret: string, steps = 0): string {
  const totp = new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) });
  return totp.generate({ timestamp: s.clock.now().getTime() + steps * 30_000 });
}

/**
 * Move the server's clock forward to 1 s into a TOTP step: the 29 s that follow stay in that one
 * step, so a test comparing "the code now" with codes already used is not cut by a step boundary.
 */
function startOfStep(s: TestServer): void {
  const into = s.clock.now().getTime() % 30_000;
  s.clock.advance((30_000 - into + 1_000) / 1000);
}

/** Enrol and confirm TOTP at the start of a step (startOfStep): the confirmation spends that step. */
export async function enrolTotp(s: TestServer, cookie: string): Promise<{ secret: string; recoveryCodes: string[]; uri: string; qr: string }> {
  startOfStep(s);
  const e = await rest(s.url, 'POST', '/api/user/mfa/totp', { headers: { cookie }, body: {} });
  if (e.status !== 200) throw new Error(`enrol: ${JSON.stringify(e.body)}`);
  const c = await rest(s.url, 'POST', '/api/user/mfa/totp/confirm', { headers: { cookie }, body: { code: codeAt(s, e.body.data.secret) } });
  if (c.status !== 200) throw new Error(`confirm: ${JSON.stringify(c.body)}`);
  return { secret: e.body.data.secret, recoveryCodes: c.body.data.recoveryCodes, uri: e.body.data.otpauthUri, qr: e.body.data.qrCodeDataUrl };
}

/** Password sign-in that answers with a challenge. */
export async function challengeFor(s: TestServer, email: string): Promise<string> {
  const r = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: PASSWORD } });
  if (r.status !== 200 || !r.body.data.secondFactorChallenge) throw new Error(`sign-in: ${JSON.stringify(r.body)}`);
  return r.body.data.secondFactorChallenge;
}

export async function complete(s: TestServer, challengeToken: string, code: string) {
  return rest(s.url, 'POST', '/api/user/mfa/challenge', { body: { challengeToken, code } });
}

/** Sign in with password + a TOTP code `steps` ahead (a fresh step each time so the code is unused). */
export async function signInWithTotp(s: TestServer, email: string, secret: string, steps: number): Promise<string> {
  const r = await complete(s, await challengeFor(s, email), codeAt(s, secret, steps));
  if (r.status !== 200) throw new Error(`complete: ${JSON.stringify(r.body)}`);
  return sessionCookieOf(r);
}
