// Email delivery: never fails or slows the request that caused it; retried in the background;
// with no SMTP_URL the message goes to the log.
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Mailer, magicLinkEmail } from '../../src/modules/mail/index.js';
import { PASSWORD, uniqueEmail } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { type SmtpSink, startSmtp, tokenOf } from '../helpers/smtp.js';

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('SMTP delivery', () => {
  it('a sign-up succeeds while the mail server is down; the email arrives when it comes back', async () => {
    const port = await freePort();
    const s: TestServer = await startServer({ env: { SMTP_URL: `smtp://127.0.0.1:${port}` } });
    cleanup.push(() => s.stop());
    const email = uniqueEmail('retry');
    const up = await rest(s.url, 'POST', '/api/auth/sign-up/email', { body: { email, password: PASSWORD, name: 'R' } });
    expect(up.status).toBe(200);
    // The first attempt has failed (connection refused); the retry 1 s later finds the server.
    const smtp: SmtpSink = await startSmtp(port);
    cleanup.push(() => smtp.stop());
    const mail = await smtp.nextMail(email, 15_000);
    const verified = await rest(s.url, 'GET', `/api/auth/verify-email?token=${tokenOf(mail)}`);
    expect(verified.body.data.user.isVerified).toBe(true);
  });
});

describe('log transport (no SMTP_URL)', () => {
  it('writes recipient, subject and link at info level when logBodies asks (MAIL_LOG_BODIES)', async () => {
    const lines: any[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }));
    const mailer = new Mailer({ from: 'x@localhost', log, logBodies: true });
    mailer.send(magicLinkEmail('[email protected]', 'http://127.0.0.1:8080/magic-link/redirect?token=abc'));
    await mailer.close();
    expect(lines).toHaveLength(2); // the start-up warning, then the email
    expect(lines[0]).toMatchObject({ level: 40 });
    expect(lines[1]).toMatchObject({ level: 30, to: '[email protected]', subject: 'Your sign-in link', link: 'http://127.0.0.1:8080/magic-link/redirect?token=abc' });
  });
});
