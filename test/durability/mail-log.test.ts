// Issue 18: with SMTP_URL unset, a start-up warning says emails are not delivered, and emailed
// one-time links and codes reach the log only when MAIL_LOG_BODIES (or LOG_LEVEL debug/trace) asks.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Mailer, magicLinkEmail } from '../../src/modules/mail/index.js';

function capture() {
  const lines: any[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }));
  return { lines, log };
}

const LINK = 'http://127.0.0.1:8080/magic-link/redirect?token=secret-one-time-token';

describe('log transport without SMTP_URL', () => {
  it('warns at start and logs that an email was sent, without its link, by default', async () => {
    const { lines, log } = capture();
    const mailer = new Mailer({ from: 'x@localhost', log, logBodies: loadConfig({}).mailLogBodies });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40 });
    expect(lines[0].msg).toMatch(/SMTP_URL is not set/);
    mailer.send(magicLinkEmail('[email protected]', LINK));
    await mailer.close();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: 30, to: '[email protected]', subject: 'Your sign-in link' });
    expect(JSON.stringify(lines)).not.toContain('secret-one-time-token');
  });

  it('MAIL_LOG_BODIES=true, or LOG_LEVEL debug, logs the link; MAIL_LOG_BODIES=false wins over debug', () => {
    expect(loadConfig({}).mailLogBodies).toBe(false);
    expect(loadConfig({ MAIL_LOG_BODIES: 'true' }).mailLogBodies).toBe(true);
    expect(loadConfig({ LOG_LEVEL: 'debug' }).mailLogBodies).toBe(true);
    expect(loadConfig({ LOG_LEVEL: 'debug', MAIL_LOG_BODIES: 'false' }).mailLogBodies).toBe(false);
    expect(() => loadConfig({ MAIL_LOG_BODIES: 'sometimes' })).toThrow(/MAIL_LOG_BODIES must be true or false/);
  });

  it('with SMTP_URL set there is no warning', async () => {
    const { lines, log } = capture();
    const mailer = new Mailer({ smtpUrl: 'smtp://127.0.0.1:1', from: 'x@localhost', log, retryDelaysMs: [] });
    await mailer.close();
    expect(lines).toEqual([]);
  });
});
