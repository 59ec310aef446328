// Malformed input at the transport is the client's error: 400/401 in the envelope (or
// invalid_argument on Connect/gRPC), never a 500; X-Forwarded-For only from TRUSTED_PROXIES.
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { PASSWORD, signUpAndIn, uniqueEmail } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { envelope, grpcStatus, h2Request, rawHttp1 } from './wire.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ env: { TRUSTED_PROXIES: 'loopback' } });
});
afterAll(() => s?.stop());

describe('cookies', () => {
  it.each([
    'latchkey_session=%',
    'latchkey_session=%ZZ',
    'latchkey_session=%E0%A4%A',
    'latchkey_session=%00abc',
    'latchkey_session="unterminated',
    '=;;;latchkey_session',
    'latchkey_session=a;latchkey_session=b',
  ])('%s is no credential: 401, not 500', async (cookie) => {
    const r = await rest(s.url, 'GET', '/api/user/me', { headers: { cookie } });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ success: false, code: 'UNAUTHORIZED' });
  });

  it('a cookie header with bytes that are not UTF-8 is no credential (raw socket)', async () => {
    const head = Buffer.concat([Buffer.from('GET /api/user/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: latchkey_session='), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('\r\n\r\n')]);
    const r = await rawHttp1(s.port, head);
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('a real session cookie still works among malformed ones', async () => {
    const u = await signUpAndIn(s.url);
    const r = await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: `junk=%; ${u.cookie}; other=%ZZ` } });
    expect(r.status).toBe(200);
    expect(r.body.data.id).toBe(u.userId);
  });
});

describe('REST paths and query strings', () => {
  it.each([
    '/api/user/organizations/%ZZ',
    '/api/user/organizations/%',
    '/api/user/organizations/%E0%A4%A/members',
    '/api-key/%C0%AF',
    '/api/user/organizations/a%00b',
    '/api/user/organizations/%0d%0a',
  ])('GET %s → 400 BAD_REQUEST in the envelope', async (path) => {
    const u = await signUpAndIn(s.url);
    const r = await rest(s.url, 'GET', path, { headers: { cookie: u.cookie } });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ success: false, status: 400, code: 'BAD_REQUEST' });
  });

  it.each(['email=%00x', 'email=a%ZZ&type=link', 'type=%ED%A0%80', 'email=%0a'])('GET /magic-link?%s → 400, not 500', async (q) => {
    const r = await rest(s.url, 'GET', `/magic-link?${q}`);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ success: false, status: 400 });
  });

  it('an absolute-form request target is routed by its path', async () => {
    const r = await rawHttp1(s.port, `GET http://${s.url.slice(7)}/api/user/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(401);
  });

  it('header values with bytes outside ASCII are a 4xx (orgid, x-api-key, authorization)', async () => {
    const u = await signUpAndIn(s.url);
    for (const [name, value] of [
      ['orgid', Buffer.from([0xff, 0x00 + 0x41, 0xc3])],
      ['x-api-key', Buffer.from([0xe2, 0x82])],
      ['authorization', Buffer.from([0x42, 0x65, 0x61, 0x72, 0x65, 0x72, 0x20, 0xf0, 0x9f])],
      ['x-organization-id', Buffer.from('%ZZ')],
    ] as const) {
      const head = Buffer.concat([Buffer.from(`GET /api-key/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: ${u.cookie}\r\n${name}: `), value, Buffer.from('\r\n\r\n')]);
      const r = await rawHttp1(s.port, head);
      // An orgid the caller is not in lists nothing; a garbled credential is a 401.
      expect(r.status, name).toBeLessThan(500);
      if (r.status === 200) expect(JSON.parse(r.body).data.apiKeys ?? [], name).toEqual([]);
      else expect(r.status, name).toBeGreaterThanOrEqual(400);
    }
  });
});

describe('compression', () => {
  const signUp = () => JSON.stringify({ email: uniqueEmail('gz'), password: PASSWORD, name: 'Gz' });

  it('REST accepts a gzip body and refuses an unknown or corrupt encoding with 400', async () => {
    const ok = await fetch(`${s.url}/api/auth/sign-up/email`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: zlib.gzipSync(signUp()) });
    expect(ok.status).toBe(200);
    const unknown = await fetch(`${s.url}/api/auth/sign-up/email`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'zstd' }, body: signUp() });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/Unsupported Content-Encoding "zstd"/) });
    const corrupt = await fetch(`${s.url}/api/auth/sign-up/email`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: 'not gzip at all' });
    expect(corrupt.status).toBe(400);
  });

  it('a REST gzip bomb stops at MAX_BODY_BYTES: 413, quickly', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)); // 64 MiB of spaces in ~64 KiB
    const started = Date.now();
    const r = await fetch(`${s.url}/api/auth/sign-up/email`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
    expect(r.status).toBe(413);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('an unknown Connect content-encoding is invalid_argument (400), not 501', async () => {
    const r = await fetch(`${s.url}/latchkey.v1.AuthService/SignUp`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'zstd' }, body: signUp() });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('zstd') });
  });

  it('an unknown grpc-encoding is INVALID_ARGUMENT on gRPC and gRPC-web', async () => {
    const g = await h2Request(s.url, { ':path': '/latchkey.v1.AuthService/SignUp', 'content-type': 'application/grpc', 'grpc-encoding': 'snappy', te: 'trailers' }, envelope(Buffer.alloc(0)));
    expect(grpcStatus(g)).toBe(3);
    const w = await fetch(`${s.url}/latchkey.v1.AuthService/SignUp`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', 'grpc-encoding': 'snappy' },
      body: envelope(Buffer.alloc(0)),
    });
    expect(w.headers.get('grpc-status')).toBe('3');
  });

  it('a compressed gRPC frame on a request without grpc-encoding is INVALID_ARGUMENT, not INTERNAL', async () => {
    const frame = envelope(zlib.gzipSync(Buffer.from([0x0a, 0x01, 0x61])), 1);
    const g = await h2Request(s.url, { ':path': '/latchkey.v1.AuthService/SignUp', 'content-type': 'application/grpc', te: 'trailers' }, frame);
    expect(grpcStatus(g)).toBe(3);
    expect(decodeURIComponent(String(g.trailers['grpc-message'] ?? g.headers['grpc-message']))).toMatch(/compressed message/);
    const w = await fetch(`${s.url}/latchkey.v1.AuthService/SignUp`, { method: 'POST', headers: { 'content-type': 'application/grpc-web+proto' }, body: frame });
    expect(Buffer.from(await w.arrayBuffer()).toString('latin1')).toMatch(/grpc-status: ?3/);
  });
});

describe('X-Forwarded-For and TRUSTED_PROXIES', () => {
  const sessionIp = async (url: string, xff?: string) => {
    const email = uniqueEmail('xff');
    await rest(url, 'POST', '/api/auth/sign-up/email', { body: { email, password: PASSWORD, name: 'X' } });
    const inn = await rest(url, 'POST', '/api/auth/sign-in/email', { body: { email, password: PASSWORD }, headers: xff ? { 'x-forwarded-for': xff } : {} });
    const cookie = inn.headers.getSetCookie()[0].split(';')[0];
    const list = await rest(url, 'GET', '/api/user/sessions', { headers: { cookie } });
    return list.body.data.sessions[0].ip as string;
  };

  it('believes the hops a trusted (loopback) proxy adds, and stops at the first untrusted one', async () => {
    expect(await sessionIp(s.url, '203.0.113.7')).toBe('203.0.113.7');
    expect(await sessionIp(s.url, '198.51.100.1, 203.0.113.7, 127.0.0.1')).toBe('203.0.113.7');
    // A hop that is not an address is what the proxy says the client is; it is not trusted further.
    expect(await sessionIp(s.url, 'not-an-ip, 203.0.113.7')).toBe('203.0.113.7');
  });

  it('ignores X-Forwarded-For from an address outside the CIDR ranges', async () => {
    const other = await startServer({ env: { TRUSTED_PROXIES: '10.0.0.0/8, 192.168.0.0/16' } });
    try {
      expect(await sessionIp(other.url, '203.0.113.7')).toBe('127.0.0.1');
    } finally {
      await other.stop();
    }
  });

  it('TRUSTED_PROXIES takes addresses, CIDR ranges and named ranges, and refuses junk naming the variable', () => {
    expect(loadConfig({ TRUSTED_PROXIES: 'loopback, 10.0.0.0/8, 2001:db8::/32, 192.0.2.1, uniquelocal' }).trustedProxies).toHaveLength(5);
    expect(() => loadConfig({ TRUSTED_PROXIES: '10.0.0.0/99' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUSTED_PROXIES: 'proxy.example.com' })).toThrow(/TRUSTED_PROXIES/);
  });
});
