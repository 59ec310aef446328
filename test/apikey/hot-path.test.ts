// The verification path: what a bad key costs (nothing), what a warm and a cold key cost (0 and 1
// queries), expiry, disabling, grace periods, write-behind of last use, and where the plaintext is
// NOT (responses, database, logs).

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { createLogger } from '../../src/log.js';
import { listen } from '../../src/server.js';
import type { TestUser } from '../helpers/accounts.js';
import { signUpAndIn } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { onRealPostgres } from '../helpers/server.js';
import { createClient, discover } from '../oauth/helpers.js';
import { accessTokenOf, cookie, countQueries, createKey, newUser, startWorld, type World, xApiKey } from './fixtures.js';

let w: World;
let u: TestUser;
let introspector: string;
beforeAll(async () => {
  w = await startWorld();
  u = await newUser(w, 'Hot Path');
  introspector = (await createKey(w, cookie(u, { orgid: u.organizationId }), { scopes: ['introspect'] })).key;
});
afterAll(async () => {
  await w?.stop();
});

const verify = (key: string) => client(ApiKeyService, w.url, 'grpc').verifyApiKey({ key }, { headers: { 'x-api-key': introspector } });

describe('database round trips', () => {
  it('a mistyped or truncated key is refused without any query', async () => {
    const k = await createKey(w, cookie(u), { scopes: ['user:read'] });
    const typo = k.key.slice(0, 12) + (k.key[12] === 'Q' ? 'R' : 'Q') + k.key.slice(13);
    for (const bad of [typo, k.key.slice(0, 30), k.key.slice(0, -1)]) {
      const { count, result } = await countQueries(w, () => rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(bad) }));
      expect(result.status).toBe(401);
      expect(result.body.message).toBe('Invalid API key');
      expect(count).toBe(0);
    }
  });

  it('a cold key costs one query, a warm one none (VerifyApiKey over gRPC)', async () => {
    await verify(introspector); // warm the caller's own key
    const k = await createKey(w, cookie(u, { orgid: u.organizationId }), { scopes: ['read', 'projects:write'] });
    const cold = await countQueries(w, () => verify(k.key));
    expect(cold.result.valid).toBe(true);
    expect(cold.count).toBe(1);
    const warm = await countQueries(w, () => verify(k.key));
    expect(warm.result.valid).toBe(true);
    expect(warm.count).toBe(0);
    const many = await countQueries(w, () => Promise.all(Array.from({ length: 20 }, () => verify(k.key))));
    expect(many.count).toBe(0);
  });

  it('GetMe by a warm key adds no key query to what GetMe itself reads', async () => {
    const k = await createKey(w, cookie(u), { scopes: ['user:read'] });
    await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) });
    const { sql, result } = await countQueries(w, () => rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) }));
    expect(result.status).toBe(200);
    expect(sql.filter((q) => /api_keys/.test(q))).toEqual([]);
  });

  it('an unknown well-formed key costs one query, then none for a while (negative cache)', async () => {
    const k = await createKey(w, cookie(u), { scopes: ['user:read'] });
    await rest(w.url, 'DELETE', `/api-key/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }) });
    await w.server.deps.db.orm.em.fork().getConnection().execute('delete from api_keys where id = ?', [k.id]);
    const first = await countQueries(w, () => verify(k.key));
    expect(first.result).toMatchObject({ valid: false, code: 'NOT_FOUND' });
    expect(first.count).toBe(1);
    const again = await countQueries(w, () => verify(k.key));
    expect(again.count).toBe(0);
  });
});

describe('every credential on a tenant-scoped call, warm', () => {
  // GetOrgPolicy reads only the policy cache, so what it sends warm is what the request path sends:
  // authentication, the tenant and role (tenancy interceptor) and the organization's policy gate.
  it('sends no SQL for a session, a sign-in JWT, an API key and an OAuth access token, with a policy in force', async () => {
    const o = await newUser(w, 'Warm Tenant');
    const policyPath = `/api/user/organizations/${o.organizationId}/policy`;
    const set = await rest(w.url, 'PUT', policyPath, {
      headers: cookie(o),
      body: { requireSecondFactor: 'none', allowedInvitationDomains: [], maxSessionSeconds: 86400, maxApiKeyLifetimeSeconds: 0, apiKeysMustExpire: false },
    });
    expect(set.status).toBe(200);
    const jwt = await accessTokenOf(w, o);
    const key = (await createKey(w, cookie(o, { orgid: o.organizationId }), { scopes: ['orgs:read'] })).key;
    const machine = await createClient(w.url, o, { name: 'Warm probe', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['orgs:read'] });
    const config = await discover(w.url, machine.clientId, oidc.ClientSecretBasic(machine.secret));
    const oauthToken = (await oidc.clientCredentialsGrant(config, { scope: 'orgs:read' })).access_token;
    const credentials: Record<string, Record<string, string>> = {
      session: cookie(o),
      jwt: { authorization: `Bearer ${jwt}` },
      'jwt with tenant header': { authorization: `Bearer ${jwt}`, 'x-organization-id': o.organizationId },
      'api key': xApiKey(key),
      oauth: { authorization: `Bearer ${oauthToken}` },
    };
    for (const [name, headers] of Object.entries(credentials)) {
      expect((await rest(w.url, 'GET', policyPath, { headers })).status, name).toBe(200); // warm it
      const warm = await countQueries(w, () => rest(w.url, 'GET', policyPath, { headers }));
      expect(warm.result.status, name).toBe(200);
      expect(warm.sql, name).toEqual([]);
    }
  });
});

describe('state of a key', () => {
  it('expired keys are refused with "API key expired"', async () => {
    const k = await createKey(w, cookie(u), { scopes: ['user:read'], expiresIn: 120 });
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) })).status).toBe(200);
    w.server.clock.advance(121);
    try {
      const r = await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) });
      expect(r.status).toBe(401);
      expect(r.body.message).toBe('API key expired');
      expect((await verify(k.key)).code).toBe('EXPIRED');
      const got = await rest(w.url, 'GET', `/api-key/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }) });
      expect(got.body.data.status).toBe('expired');
    } finally {
      w.server.clock.advance(-121);
    }
  });

  it('a disabled key is refused until enabled again', async () => {
    const k = await createKey(w, cookie(u), { scopes: ['user:read'] });
    const off = await rest(w.url, 'PATCH', `/api-key/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }), body: { enabled: false } });
    expect(off.status).toBe(200);
    expect(off.body.data).toMatchObject({ id: k.id, enabled: false, status: 'disabled' });
    const r = await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) });
    expect(r.status).toBe(401);
    expect(r.body.message).toBe('API key disabled');
    await rest(w.url, 'PATCH', `/api-key/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }), body: { enabled: true } });
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) })).status).toBe(200);
  });

  it('regenerate with a grace period: both secrets work until it ends, then only the new one', async () => {
    const k = await createKey(w, cookie(u), { scopes: ['user:read'] });
    const bad = await rest(w.url, 'POST', `/api-key/regenerate/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }), body: { gracePeriodSeconds: 86401 } });
    expect(bad.status).toBe(400);
    const r = await rest(w.url, 'POST', `/api-key/regenerate/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }), body: { gracePeriodSeconds: 3600 } });
    expect(r.status).toBe(200);
    const fresh = r.body.data.key;
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) })).status).toBe(200);
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(fresh) })).status).toBe(200);
    w.server.clock.advance(3601);
    try {
      const old = await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) });
      expect(old.status).toBe(401);
      expect(old.body.message).toMatch(/regenerated/);
      expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(fresh) })).status).toBe(200);
    } finally {
      w.server.clock.advance(-3601);
    }
  });

  it('last use is written behind, and a first use after a long idle is audited', async () => {
    const k = await createKey(w, cookie(u, { orgid: u.organizationId }), { scopes: ['user:read'] });
    const before = await rest(w.url, 'GET', `/api-key/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }) });
    expect(before.body.data.lastUsedAt).toBeUndefined();
    const q = await countQueries(w, () => rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) }));
    expect(q.sql.filter((s) => /^update/i.test(s.trim()))).toEqual([]); // no write on the request path
    await w.server.deps.apiKeys.usage.flush();
    const after = await rest(w.url, 'GET', `/api-key/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }) });
    expect(Date.parse(after.body.data.lastUsedAt)).toBeGreaterThan(Date.now() - 60_000);
    w.server.clock.advance(31 * 86400);
    try {
      expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) })).status).toBe(200);
      await w.server.deps.apiKeys.usage.flush();
    } finally {
      w.server.clock.advance(-31 * 86400);
    }
    const audit = await rest(w.url, 'GET', `/api/user/organizations/${u.organizationId}/audit-events`, { headers: cookie(u) });
    const idle = audit.body.data.auditEvents.filter((e: any) => e.type === 'api_key.used_after_idle');
    expect(idle.map((e: any) => e.targetId)).toEqual([k.id]);
    const types = audit.body.data.auditEvents.map((e: any) => e.type);
    expect(types).toContain('api_key.created');
  });
});

describe('the plaintext is returned once and stored nowhere', () => {
  it('is absent from every table of the database', async () => {
    const keys = [await createKey(w, cookie(u), { scopes: ['user:read'] }), await createKey(w, cookie(u, { orgid: u.organizationId }))];
    const rotated = await rest(w.url, 'POST', `/api-key/regenerate/${keys[1].id}`, { headers: cookie(u, { orgid: u.organizationId }), body: { gracePeriodSeconds: 60 } });
    const secrets = [...keys.map((k) => k.key), rotated.body.data.key];
    for (const k of secrets) await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k) });
    await w.server.deps.apiKeys.usage.flush();
    const conn = w.server.deps.db.orm.em.fork().getConnection();
    const tables = await conn.execute<{ table_name: string }[]>(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`);
    let dump = '';
    for (const t of tables) dump += JSON.stringify(await conn.execute(`select * from "${t.table_name}"`));
    expect(dump).toContain(keys[0].id);
    for (const s of secrets) {
      expect(dump).not.toContain(s);
      expect(dump).not.toContain(s.slice(3, 40)); // any long run of the secret
    }
  });

  it('is absent from the logs, even at trace level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-logs-'));
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'trace',
      SCRYPT_LOG_N: '10',
      SCRYPT_P: '1',
      ...(w.server.config.secret ? { SECRET: w.server.config.secret } : {}),
      ...(onRealPostgres ? { DATABASE_URL: w.server.databaseUrl! } : {}),
    });
    const deps = await createDeps(config, createLogger('trace', sink));
    const server = await listen(deps);
    try {
      const me = await signUpAndIn(server.url, 'Logged');
      const created = await rest(server.url, 'POST', '/api/auth/api-key/create', { headers: cookie(me), body: { name: 'logged', scopes: ['user:read'] } });
      const key: string = created.body.data.key;
      await rest(server.url, 'GET', '/api/user/me', { headers: xApiKey(key) });
      await rest(server.url, 'GET', '/api/user/organizations', { headers: { authorization: `Bearer ${key}` } });
      await rest(server.url, 'POST', '/api/auth/api-key/verify', { headers: xApiKey(key), body: { key } });
      await rest(server.url, 'POST', `/api-key/regenerate/${created.body.data.id}`, { headers: cookie(me, { orgid: me.organizationId }) });
      await rest(server.url, 'POST', '/api/auth/api-key/report-leak', { body: { key, source: 'https://paste.example/x' } });
      await rest(server.url, 'GET', '/api/user/me', { headers: xApiKey(key) });
      const text = lines.join('');
      expect(text.length).toBeGreaterThan(0);
      expect(text).not.toContain(key);
      expect(text).not.toContain(key.slice(3, 40));
    } finally {
      await server.close();
      await deps.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
