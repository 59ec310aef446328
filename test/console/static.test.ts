// The console on the API's port, without a browser: which requests it answers, its headers, the
// first page's JavaScript budget, and that every API path still answers as before.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s?.stop());

const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
const get = (path: string, headers: Record<string, string> = HTML, method = 'GET') => fetch(s.url + path, { method, headers });

function expectConsoleHeaders(res: Response) {
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
}

async function indexHtml(): Promise<string> {
  return (await get('/')).text();
}

describe('console: static files', () => {
  it('GET / is the console: no-cache, strict CSP, nosniff, no inline script', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expectConsoleHeaders(res);
    const html = await res.text();
    expect(html).toContain('<div id="root"></div>');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is a file
    expect(html).not.toMatch(/style=|<style/);
  });

  it('hashed assets are immutable for a year, gzipped when asked; a missing asset is a 404, not the page', async () => {
    const html = await indexHtml();
    const js = /src="(\/assets\/[\w-]+\.js)"/.exec(html)![1];
    const css = /href="(\/assets\/[\w-]+\.css)"/.exec(html)![1];
    for (const path of [js, css]) {
      const res = await get(path, { 'accept-encoding': 'gzip' });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-encoding')).toBe('gzip');
      expectConsoleHeaders(res);
      await res.arrayBuffer();
    }
    expect((await get(js)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const missing = await get('/assets/nope-123.js');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('NOT_FOUND');
  });

  it("the first page's JavaScript is at most 200 KB gzipped", async () => {
    const html = await indexHtml();
    const scripts = [...html.matchAll(/<script[^>]*src="([^"]+)"/g), ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => m[1]);
    let total = 0;
    for (const src of scripts) total += gzipSync(Buffer.from(await (await get(src, {})).arrayBuffer())).length;
    console.log(`console first-page JS: ${(total / 1024).toFixed(1)} KB gzip in ${scripts.length} file(s)`);
    expect(scripts.length).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(200 * 1024);
  });

  it('client-side routes fall back to the page for browsers (GET, Accept: text/html) only', async () => {
    for (const path of ['/verify-email?token=abc', '/magic-link/redirect?token=abc', '/reset-password?token=abc', '/invitations/inv_1?token=abc', '/magic-link/code', '/api-keys', '/sign-in']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toContain('<div id="root"></div>');
      expectConsoleHeaders(res);
    }
    const head = await get('/organization', HTML, 'HEAD');
    expect(head.status).toBe(200);
    // Not a browser asking for a page: the API's answer, as before.
    const json = await get('/verify-email', { accept: 'application/json' });
    expect(json.status).toBe(404);
    expect(((await json.json()) as { code: string }).code).toBe('NOT_FOUND');
  });

  it('API paths keep precedence, even for a browser', async () => {
    const me = await get('/api/user/me');
    expect(me.status).toBe(401);
    expect(((await me.json()) as { code: string }).code).toBe('UNAUTHORIZED');
    // GET /magic-link is RequestMagicLink's REST binding: still the API.
    const magic = await get('/magic-link?email=someone@example.com&type=link');
    expect(magic.status).toBe(200);
    expect(((await magic.json()) as { success: boolean }).success).toBe(true);
    // POST on the magic-link page's path is still RedeemMagicLink for curl.
    const redeem = await rest(s.url, 'POST', '/magic-link/redirect', { body: { token: 'nope' } });
    expect(redeem.status).toBe(401);
    const verify = await get('/api/auth/verify-email?token=nope');
    expect(verify.status).toBe(401);
    for (const path of ['/api/nothing-here', '/v2/partner/nothing', '/latchkey.v1.AuthService/Nope', '/.well-known/nothing']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toContain('application/json');
    }
    const jwks = await get('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(((await jwks.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    expect((await get('/healthz')).status).toBe(200);
  });

  it('only GET and HEAD reach the console', async () => {
    const res = await fetch(`${s.url}/organization`, { method: 'POST', headers: HTML });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-security-policy')).toBeNull();
  });
});
