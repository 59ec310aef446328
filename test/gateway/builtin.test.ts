// The built-in gateway (GATEWAY_UPSTREAM): the seeds' curl examples verbatim against Latchkey's own
// host, proxied to an upstream echo server; bodies stream both ways; a slow upstream is a 504.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenOf, cookie, createKey, join, newUser, startWorld, type World } from '../apikey/fixtures.js';
import { rest } from '../helpers/clients.js';
import { signInWithApiKey } from '../token/fixtures.js';
import { type Echo, gatewayEnv, startEcho, verifyAssertion, writePolicy } from './fixtures.js';
import { type SeedKeys, seedKeys } from './seeds.js';

describe('built-in gateway in front of GATEWAY_UPSTREAM', () => {
  let w: World;
  let echo: Echo;
  let s: SeedKeys;

  beforeAll(async () => {
    echo = await startEcho();
    const { file } = await writePolicy();
    w = await startWorld(gatewayEnv(file, { GATEWAY_UPSTREAM: echo.url, GATEWAY_UPSTREAM_TIMEOUT_MS: '500' }));
    s = await seedKeys(w);
  }, 180_000);
  afterAll(async () => {
    await w?.stop();
    await echo?.stop();
  });

  const seen = (r: { body: any }) => r.body.headers as Record<string, string>;

  it('seed 001 verbatim: curl "…/api/user/organizations/${ORG_ID}/projects" -H "X-Api-Key: …"', async () => {
    const ORG_ID = s.orgId;
    const r = await rest(w.url, 'GET', `/api/user/organizations/${ORG_ID}/projects`, { headers: { 'X-Api-Key': s.pat.key } });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-upstream')).toBe('echo');
    expect(r.body.url).toBe(`/api/user/organizations/${ORG_ID}/projects`);
    expect(seen(r)).toMatchObject({ 'x-latchkey-user-id': s.user.userId, 'x-latchkey-organization-id': ORG_ID, 'x-latchkey-key-id': s.pat.id });
    expect(seen(r)['x-api-key']).toBeUndefined();
    expect(await verifyAssertion(w.url, seen(r)['x-latchkey-assertion'])).toMatchObject({ sub: s.user.userId, org_id: ORG_ID });
    // Latchkey's own routes keep answering themselves, with the same key (seed 001's account route).
    const me = await rest(w.url, 'GET', '/api/user/me', { headers: { 'X-Api-Key': s.pat.key } });
    expect(me.status).toBe(200);
    expect(me.body.data.id ?? me.body.data.user?.id).toBe(s.user.userId);
  });

  it('seed 001: 403 when the key is pinned elsewhere or lacks the scope; nothing reaches the upstream', async () => {
    const before = echo.received.length;
    const pinned = await rest(w.url, 'GET', `/api/user/organizations/${s.otherOrgId}/projects`, { headers: { 'X-Api-Key': s.pinned.key } });
    expect(pinned.status).toBe(403);
    expect(pinned.body).toMatchObject({ success: false, code: 'FORBIDDEN', message: 'This API key is pinned to another organization' });
    const scope = await rest(w.url, 'POST', `/api/user/organizations/${s.orgId}/projects`, { headers: { 'X-Api-Key': s.noProjects.key }, body: { name: 'x' } });
    expect(scope.status).toBe(403);
    expect(scope.body.message).toBe('Missing scope projects:write');
    expect(echo.received.length).toBe(before);
  });

  it("a key gets its scopes ∩ its creator's role: a member's projects:write is capped by the policy's roles", async () => {
    const member = await newUser(w, 'Member');
    await join(w, s.user, s.orgId, member, 'member');
    const k = await createKey(w, cookie(member), { scopes: ['projects:read', 'projects:write'] });
    const path = `/api/user/organizations/${s.orgId}/projects`;
    const read = await rest(w.url, 'GET', path, { headers: { 'x-api-key': k.key } });
    expect(read.status).toBe(200);
    expect(seen(read)['x-latchkey-scopes'].split(' ')).toEqual(['projects:read']);
    const write = await rest(w.url, 'POST', path, { headers: { 'x-api-key': k.key }, body: {} });
    expect(write.status).toBe(403);
    expect(write.body.message).toBe('Missing scope projects:write');
    // Not a member at all: 403, whatever the key says.
    const outsider = await newUser(w, 'Outsider');
    const ok = await createKey(w, cookie(outsider), { scopes: ['projects:read'] });
    const r = await rest(w.url, 'GET', path, { headers: { 'x-api-key': ok.key } });
    expect(r.status).toBe(403);
    expect(r.body.message).toBe('Not a member of this organization');
  });

  it('seed 000 verbatim: curl …/data/contact -H "orgid: …" -H "x-api-key: …"; 400 without orgid', async () => {
    const r = await rest(w.url, 'GET', '/data/contact', { headers: { orgid: s.orgId, 'x-api-key': s.orgKey.key } });
    expect(r.status).toBe(200);
    expect(seen(r)['x-latchkey-organization-id']).toBe(s.orgId);
    const bad = await rest(w.url, 'GET', '/data/contact', { headers: { 'x-api-key': s.orgKey.key } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('Missing orgid or x-organization-id header');
  });

  it('seed 002 verbatim: curl -X GET …/customer -H "Authorization: Bearer at_…"; 401 "Missing Authorization header" without', async () => {
    const r = await rest(w.url, 'GET', '/customer', { headers: { Authorization: `Bearer ${s.bearer.key}`, 'Content-Type': 'application/json' } });
    expect(r.status).toBe(200);
    expect(seen(r).authorization).toBeUndefined();
    const none = await rest(w.url, 'GET', '/customer', { headers: { 'Content-Type': 'application/json' } });
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ success: false, status: 401, code: 'UNAUTHORIZED', message: 'Missing Authorization header', reason: 'CREDENTIAL_MISSING' });
  });

  it('seed 004: a token exchanged for an API key acts as the user, with the key as actor', async () => {
    const k = await createKey(w, cookie(s.user, { orgid: s.orgId }), { scopes: ['projects:read'] });
    const ex = await signInWithApiKey(w.url, s.orgId, { key: k.key, keyId: k.id, userId: s.user.userId });
    expect(ex.status).toBe(200);
    const jwt = ex.body.id_token ?? ex.body.data?.id_token ?? ex.body.data?.idToken;
    const r = await rest(w.url, 'GET', `/api/user/organizations/${s.orgId}/projects`, { headers: { Authorization: `Bearer ${jwt}` } });
    expect(r.status).toBe(200);
    expect(seen(r)['x-latchkey-actor']).toBe(s.user.userId);
    expect(seen(r)['x-latchkey-scopes']).toBe('projects:read');
    expect((await verifyAssertion(w.url, seen(r)['x-latchkey-assertion'])).act).toEqual({ sub: s.user.userId, client_id: k.id });
    const elsewhere = await rest(w.url, 'GET', `/api/user/organizations/${s.otherOrgId}/projects`, { headers: { Authorization: `Bearer ${jwt}` } });
    expect(elsewhere.status).toBe(403);
  });

  it('a session cookie and a sign-in JWT get what their role grants; the session cookie is not forwarded', async () => {
    const path = `/api/user/organizations/${s.orgId}/projects`;
    const r = await rest(w.url, 'GET', path, { headers: { cookie: `theme=dark; ${s.user.cookie}` } });
    expect(r.status).toBe(200);
    expect(seen(r).cookie).toBe('theme=dark');
    expect(seen(r)['x-latchkey-scopes'].split(' ')).toEqual(expect.arrayContaining(['projects:read', 'projects:write', 'members:write']));
    const jwt = await accessTokenOf(w, s.user);
    expect((await rest(w.url, 'POST', path, { headers: { authorization: `Bearer ${jwt}` }, body: {} })).status).toBe(200);
    // A browser page on another site cannot use the cookie to change state.
    const csrf = await rest(w.url, 'POST', path, { headers: { cookie: s.user.cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, body: {} });
    expect(csrf.status).toBe(403);
  });

  it('a 10 MB upload streams through: the upstream has bytes before the client has sent them all', async () => {
    const MiB = 1024 * 1024;
    const chunk = new Uint8Array(MiB).fill(1);
    let sent = 0;
    let sawInterleave = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent === 10 * MiB) return c.close();
        if (sent === 5 * MiB) {
          // Half sent: the upstream must already be reading. A buffering proxy would hold it all back.
          const deadline = Date.now() + 10_000;
          while (echo.uploading === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
          sawInterleave = echo.uploading > 0 && echo.uploading < 10 * MiB;
        }
        sent += MiB;
        c.enqueue(chunk);
      },
    });
    const res = await fetch(`${w.url}/data/upload`, {
      method: 'POST',
      headers: { orgid: s.orgId, 'x-api-key': s.orgKey.key, 'content-type': 'application/octet-stream' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { bytes: number }).bytes).toBe(10 * MiB);
    expect(sawInterleave).toBe(true);
  });

  it('a streamed download: the client reads the first MiB while the upstream is still holding the rest', async () => {
    const res = await fetch(`${w.url}/data/download?bytes=${10 * 1024 * 1024}`, { headers: { orgid: s.orgId, 'x-api-key': s.orgKey.key } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let got = 0;
    // The upstream pauses after 1 MiB until released: only a streaming gateway lets these bytes through.
    while (got < 1024 * 1024) got += (await reader.read()).value!.length;
    echo.release();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      got += value.length;
    }
    expect(got).toBe(10 * 1024 * 1024);
  });

  it('a slow upstream gives 504 in the envelope', async () => {
    const r = await rest(w.url, 'GET', '/data/slow', { headers: { orgid: s.orgId, 'x-api-key': s.orgKey.key } });
    expect(r.status).toBe(504);
    expect(r.body).toEqual({ success: false, status: 504, code: 'UNAVAILABLE', message: 'Upstream did not answer in time', reason: 'UNAVAILABLE' });
  });

  it('paths that could read differently upstream are refused, unknown ones are 404', async () => {
    // Sent as written (fetch would resolve the dot segments before sending).
    const dots = await new Promise<number>((resolve, reject) =>
      http
        .get({ host: '127.0.0.1', port: w.server.port, path: '/data/%2e%2e/admin', headers: { orgid: s.orgId, 'x-api-key': s.orgKey.key } }, (res) => (res.resume(), resolve(res.statusCode!)))
        .on('error', reject),
    );
    expect(dots).toBe(400);
    const none = await rest(w.url, 'GET', '/nowhere', { headers: { 'x-api-key': s.orgKey.key } });
    expect(none.status).toBe(404);
    expect(none.body.message).toBe('No route for GET /nowhere');
  });
});

describe('built-in gateway with the upstream down', () => {
  it('answers 502 in the envelope', async () => {
    const echo = await startEcho();
    const port = echo.port;
    await echo.stop(); // nothing listens there any more
    const { file } = await writePolicy();
    const w = await startWorld(gatewayEnv(file, { GATEWAY_UPSTREAM: `http://127.0.0.1:${port}` }));
    try {
      const u = await newUser(w, 'Down');
      const k = await createKey(w, cookie(u, { orgid: u.organizationId }), {});
      const r = await rest(w.url, 'GET', '/customer', { headers: { authorization: `Bearer ${k.key}` } });
      expect(r.status).toBe(502);
      expect(r.body).toEqual({ success: false, status: 502, code: 'UNAVAILABLE', message: 'Upstream unavailable', reason: 'UNAVAILABLE' });
    } finally {
      await w.stop();
    }
  }, 120_000);
});
