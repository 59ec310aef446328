// Abuse resistance: per-IP and per-email throttles (429 + Retry-After + RateLimit-*), shared across
// replicas through Redis; a bounded scrypt queue; REQUIRE_EMAIL_VERIFICATION; the generated SECRET.
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { PASSWORD, uniqueEmail } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { testRedisUrl } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { type SmtpSink, startSmtp, tokenOf } from '../helpers/smtp.js';

const IP_LIMIT = 30;
const EMAIL_LIMIT = 3;

let smtp: SmtpSink;
let s: TestServer;
beforeAll(async () => {
  smtp = await startSmtp();
  s = await startServer({
    env: {
      SMTP_URL: smtp.url,
      AUTH_IP_LIMIT: String(IP_LIMIT),
      AUTH_EMAIL_LIMIT: String(EMAIL_LIMIT),
      AUTH_EMAIL_WINDOW_SECONDS: '900',
      REQUIRE_EMAIL_VERIFICATION: 'true',
      SCRYPT_CONCURRENCY: '1',
      SCRYPT_QUEUE_LIMIT: '2',
      SCRYPT_LOG_N: '14',
      SECRET: '', // generated into DATA_DIR
    },
  });
});
afterAll(async () => {
  await s?.stop();
  await smtp?.stop();
});

function expect429(res: { status: number; headers: Headers; body: any }, limit: number) {
  expect(res.status).toBe(429);
  expect(res.body).toMatchObject({ success: false, status: 429, code: 'RATE_LIMITED' });
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(res.headers.get('ratelimit-limit')).toBe(String(limit));
  expect(res.headers.get('ratelimit-remaining')).toBe('0');
  expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
}

describe('throttles (in-process limiter)', () => {
  it('per email: the 4th sign-in attempt within the window is 429, until the window passes', async () => {
    const email = uniqueEmail('guess');
    for (let i = 0; i < EMAIL_LIMIT; i++) expect((await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: 'wrong-password-1' } })).status).toBe(401);
    const res = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: 'wrong-password-1' } });
    expect429(res, EMAIL_LIMIT);
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(900);
    await expect(client(AuthService, s.url, 'grpc').signIn({ email, password: 'x' })).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.ResourceExhausted);
    s.clock.advance(901);
    try {
      expect((await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: 'wrong-password-1' } })).status).toBe(401);
    } finally {
      s.clock.advance(-901);
    }
  });

  it('per email: magic-link and password-reset requests (mail bombing), answered alike for unknown emails', async () => {
    for (const path of ['/api/auth/magic-link', '/api/auth/forget-password']) {
      const email = uniqueEmail('bomb');
      for (let i = 0; i < EMAIL_LIMIT; i++) expect((await rest(s.url, 'POST', path, { body: { email } })).status).toBe(200);
      expect429(await rest(s.url, 'POST', path, { body: { email } }), EMAIL_LIMIT);
    }
  });

  it('per email: 6-digit code guesses', async () => {
    const email = uniqueEmail('codes');
    for (let i = 0; i < EMAIL_LIMIT; i++) expect((await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email, code: '000000' } })).status).toBe(401);
    expect429(await rest(s.url, 'POST', '/api/auth/magic-link/verify', { body: { email, code: '000000' } }), EMAIL_LIMIT);
  });

  it('per IP: the 31st verification attempt from one address in a minute is 429', async () => {
    const results = [];
    for (let i = 0; i < IP_LIMIT + 1; i++) results.push(await rest(s.url, 'GET', `/api/auth/verify-email?token=guess-${i}`));
    expect(results.slice(0, IP_LIMIT).every((r) => r.status === 401)).toBe(true);
    expect429(results[IP_LIMIT], IP_LIMIT);
    s.clock.advance(61); // the window ends
    try {
      expect((await rest(s.url, 'GET', '/api/auth/verify-email?token=guess')).status).toBe(401);
    } finally {
      s.clock.advance(-61);
    }
  });
});

describe('bounded scrypt', () => {
  it('a flood of sign-ins gets 429 "Server busy" beyond the queue, while a JWT request is served', async () => {
    const email = uniqueEmail('verified');
    await rest(s.url, 'POST', '/api/auth/magic-link', { body: { email } });
    const signedIn = await rest(s.url, 'POST', '/magic-link/redirect', { body: { token: tokenOf(await smtp.nextMail(email)) } });
    const jwt = signedIn.body.data.accessToken;
    const flood = Promise.all(Array.from({ length: 20 }, () => rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email: uniqueEmail('flood'), password: PASSWORD } })));
    const me = await rest(s.url, 'GET', '/api/user/me', { headers: { authorization: `Bearer ${jwt}` } });
    expect(me.status).toBe(200);
    const results = await flood;
    // One hashing, two waiting: the rest are refused at once instead of piling up memory.
    const busy = results.filter((r) => r.status === 429);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy[0].body.message).toBe('Server busy, retry shortly');
    expect(busy[0].headers.get('retry-after')).toBe('1');
    expect(results.every((r) => r.status === 401 || r.status === 429)).toBe(true);
  });
});

describe('REQUIRE_EMAIL_VERIFICATION', () => {
  it('refuses sign-in (403) until the email is verified', async () => {
    const email = uniqueEmail('unverified');
    expect((await rest(s.url, 'POST', '/api/auth/sign-up/email', { body: { email, password: PASSWORD, name: 'U' } })).status).toBe(200);
    const before = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: PASSWORD } });
    expect(before.status).toBe(403);
    expect(before.body.message).toMatch(/Verify your email/);
    expect((await rest(s.url, 'GET', `/api/auth/verify-email?token=${tokenOf(await smtp.nextMail(email))}`)).status).toBe(200);
    expect((await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: PASSWORD } })).status).toBe(200);
  });
});

describe('SECRET unset', () => {
  it('is generated into DATA_DIR/secret, readable by its owner only', async () => {
    const file = path.join(s.dataDir, 'secret');
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
    expect((await readFile(file, 'utf8')).trim().length).toBeGreaterThanOrEqual(32);
  });
});

describe.skipIf(!testRedisUrl)('throttles shared through Redis (two replicas)', () => {
  const prefix = `latchkey-test-${randomBytes(6).toString('hex')}:`;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const env = { REDIS_URL: testRedisUrl!, REDIS_KEY_PREFIX: prefix, AUTH_IP_LIMIT: '1000', AUTH_EMAIL_LIMIT: '5' };
    a = await startServer({ env });
    b = await startServer({ env });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('counts attempts on either replica against one limit', async () => {
    const email = uniqueEmail('replicas');
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await rest((i % 2 ? a : b).url, 'POST', '/api/auth/sign-in/email', { body: { email, password: 'wrong-password-1' } })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });
});
