// Configuration is validated at start with a message naming the variable; logs redact secrets.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: '127.0.0.1', publicUrl: 'http://127.0.0.1:8080', logLevel: 'info', maxBodyBytes: 1048576, databaseUrl: undefined });
    expect(c.dataDir.endsWith('.data')).toBe(true);
  });

  it.each([
    [{ PORT: 'http' }, /PORT must be an integer/],
    [{ PORT: '70000' }, /PORT must be an integer between 0 and 65535/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must use postgres: or postgresql:/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL must be a URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ SECRET: 'short' }, /SECRET must be at least 32 characters/],
    [{ REQUIRE_EMAIL_VERIFICATION: 'maybe' }, /REQUIRE_EMAIL_VERIFICATION must be true or false/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('splits comma lists and strips a trailing slash from PUBLIC_URL', () => {
    const c = loadConfig({ CORS_ORIGINS: 'https://a.example, https://b.example', PUBLIC_URL: 'https://id.example.com/' });
    expect(c.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(c.publicUrl).toBe('https://id.example.com');
  });
});

describe('log redaction', () => {
  it('never writes credentials', async () => {
    const { createLogger } = await import('../../src/log.js');
    const out: string[] = [];
    const real = createLogger('info', new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) }));
    real.info({ headers: { authorization: 'Bearer secret-a', cookie: 'latchkey_session=secret-b', 'x-api-key': 'lk_secret-c' }, password: 'secret-d', body: { token: 'secret-e' } }, 'request');
    const text = out.join('');
    expect(text).toContain('[redacted]');
    for (const s of ['secret-a', 'secret-b', 'secret-c', 'secret-d', 'secret-e']) expect(text).not.toContain(s);
  });
});
