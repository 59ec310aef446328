// The ApiKeyService RPCs over gRPC and Connect (same errors as REST), VerifyApiKey's answers, and
// ReportLeakedApiKey (revoke, audit, email the admins; the answer never tells).
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { generateKey } from '../../src/modules/apikey/key-format.js';
import { signUpAndIn, type TestUser } from '../helpers/accounts.js';
import { client, type Protocol, rest } from '../helpers/clients.js';
import { cookie, createKey, createOrg, join, newUser, startWorld, type World, xApiKey } from './fixtures.js';

let w: World;
let admin: TestUser;
let org: string;
let introspector: string;
beforeAll(async () => {
  w = await startWorld();
  admin = await newUser(w, 'Rpc Admin');
  org = await createOrg(w, admin, { name: 'Rpc Org', type: 'paid' });
  introspector = (await createKey(w, cookie(admin, { orgid: org }), { scopes: ['introspect'] })).key;
});
afterAll(async () => {
  await w?.stop();
});

const code = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'OK';
  } catch (e) {
    return Code[ConnectError.from(e).code];
  }
};

for (const protocol of ['grpc', 'connect-binary', 'connect', 'grpc-web'] as Protocol[]) {
  it(`the whole lifecycle over ${protocol}`, async () => {
    const keys = client(ApiKeyService, w.url, protocol);
    const headers = { cookie: admin.cookie, orgid: org };
    const created = await keys.createApiKey({ name: `over ${protocol}`, scopes: ['members:read', 'projects:write'], expiresIn: 3600n, rateLimit: { requestsPerMinute: 100 } }, { headers });
    expect(created.id).toMatch(/^ak_/);
    expect(created.apiKeyToken).toBe(created.key);
    expect(created.apiKey?.organizationId).toBe(org);
    const listed = await keys.listApiKeys({}, { headers });
    expect(listed.apiKeys.map((k) => k.id)).toContain(created.id);
    expect((await keys.getApiKey({ keyId: created.id }, { headers })).apiKey?.name).toBe(`over ${protocol}`);
    const updated = await keys.updateApiKey({ keyId: created.id, name: 'renamed', scopes: ['members:read'] }, { headers });
    expect(updated.apiKey).toMatchObject({ name: 'renamed', scopes: ['members:read'] });
    const again = await keys.regenerateApiKey({ keyId: created.id }, { headers });
    expect(again.id).toBe(created.id);
    expect(again.key).not.toBe(created.key);
    const v = await keys.verifyApiKey({ key: again.key }, { headers: { 'x-api-key': introspector } });
    expect(v).toMatchObject({ valid: true, code: 'VALID', keyId: created.id, ownerUserId: admin.userId, organizationId: org, scopes: ['members:read'] });
    const revoked = await keys.revokeApiKey({ keyId: created.id }, { headers });
    expect(revoked.apiKey?.status).toBe('revoked');
    const twice = await keys.revokeApiKey({ keyId: created.id }, { headers });
    expect(twice.apiKey?.revokedAt).toEqual(revoked.apiKey?.revokedAt);
    expect(await code(keys.listApiKeys({}, { headers: { 'x-api-key': again.key } }))).toBe('Unauthenticated');
    expect(await code(keys.getApiKey({ keyId: 'ak_01ARZ3NDEKTSV4RRFFQ69G5FAV' }, { headers }))).toBe('NotFound');
    expect(await code(keys.updateApiKey({ keyId: created.id, name: 'x' }, { headers }))).toBe('FailedPrecondition');
  });
}

describe('VerifyApiKey', () => {
  const keys = () => client(ApiKeyService, w.url, 'grpc');
  const asIntrospector = () => ({ headers: { 'x-api-key': introspector } });

  it('returns the effective scopes (downstream ones included), owner, organization and metadata', async () => {
    const k = await createKey(w, cookie(admin, { orgid: org }), { scopes: ['read', 'projects:write'], metadata: { env: 'ci' } });
    const v = await keys().verifyApiKey({ key: k.key, requiredScopes: ['projects:write', 'members:read'] }, asIntrospector());
    expect(v.valid).toBe(true);
    expect(v.scopes).toEqual(expect.arrayContaining(['user:read', 'orgs:read', 'members:read', 'api-keys:read', 'audit:read', 'projects:write']));
    expect(v.scopes).not.toContain('user:write');
    expect(v.metadata).toEqual({ env: 'ci' });
    expect(v.remaining).toBeUndefined();
    expect(v.rateLimit).toBeUndefined();
  });

  it('answers codes, not errors, for keys that fail', async () => {
    const k = await createKey(w, cookie(admin, { orgid: org }), { scopes: ['user:read'] });
    expect(await keys().verifyApiKey({ key: k.key, requiredScopes: ['members:write'] }, asIntrospector())).toMatchObject({ valid: false, code: 'INSUFFICIENT_SCOPE', keyId: k.id });
    expect(await keys().verifyApiKey({ key: k.key.slice(0, -2) }, asIntrospector())).toMatchObject({ valid: false, code: 'MALFORMED', keyId: '' });
    expect(await keys().verifyApiKey({ key: generateKey('lk').key }, asIntrospector())).toMatchObject({ valid: false, code: 'NOT_FOUND', keyId: '' });
    await rest(w.url, 'DELETE', `/api-key/${k.id}`, { headers: cookie(admin, { orgid: admin.organizationId }) });
    expect(await keys().verifyApiKey({ key: k.key }, asIntrospector())).toMatchObject({ valid: false, code: 'REVOKED' });
  });

  it('needs the introspect scope, and a key', async () => {
    const plain = await createKey(w, cookie(admin, { orgid: org }), { scopes: ['read'] });
    expect(await code(keys().verifyApiKey({ key: plain.key }, { headers: { 'x-api-key': plain.key } }))).toBe('PermissionDenied');
    expect(await code(keys().verifyApiKey({ key: plain.key }))).toBe('Unauthenticated');
    expect(await code(keys().verifyApiKey({ key: '' }, asIntrospector()))).toBe('InvalidArgument');
    const rest400 = await rest(w.url, 'POST', '/api/auth/api-key/verify', { headers: xApiKey(introspector), body: { key: plain.key } });
    expect(rest400.status).toBe(200);
    expect(rest400.body.data).toMatchObject({ valid: true, code: 'VALID', keyId: plain.id });
  });
});

describe('ReportLeakedApiKey', () => {
  it('revokes a live key, audits it and emails the admins; the answer is the same for any key', async () => {
    const member = await newUser(w, 'Leaky Member');
    await join(w, admin, org, member, 'member');
    const k = await createKey(w, cookie(member, { orgid: org }), { name: 'leaky', scopes: ['user:read'] });
    const answers = [];
    for (const key of [k.key, generateKey('lk').key, 'not even a key', k.key]) {
      answers.push(await rest(w.url, 'POST', '/api/auth/api-key/report-leak', { body: { key, source: 'https://gist.example/abc' } }));
    }
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body.data).toEqual({});
    }
    const use = await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) });
    expect(use.status).toBe(401);
    expect(use.body.message).toBe('API key revoked');
    let mail;
    do mail = await w.smtp.nextMail(admin.email);
    while (!/leaked/i.test(mail.subject)); // sign-up's verification email comes first
    expect(mail.text).toContain(k.start);
    expect(mail.text).not.toContain(k.key);
    expect(w.smtp.unread(member.email).filter((m) => /leaked/i.test(m.subject))).toEqual([]);
    const audit = await rest(w.url, 'GET', `/api/user/organizations/${org}/audit-events?type=api_key.leak_reported`, { headers: cookie(admin) });
    const events = audit.body.data.auditEvents;
    expect(events.map((e: any) => e.targetId)).toEqual([k.id]);
    expect(events[0].metadata).toMatchObject({ source: 'https://gist.example/abc', revoked: true });
  });

  it('is rate limited per address and refuses an empty key', async () => {
    expect((await rest(w.url, 'POST', '/api/auth/api-key/report-leak', { body: { key: '' } })).status).toBe(400);
    const results = [];
    for (let i = 0; i < 12; i++) results.push((await rest(w.url, 'POST', '/api/auth/api-key/report-leak', { body: { key: `junk-${i}` } })).status);
    expect(results).toContain(429);
  });
});

describe('who may call VerifyApiKey', () => {
  it('refuses a plain member session and a session naming no organization', async () => {
    const member = await signUpAndIn(w.url);
    const own = await rest(w.url, 'POST', '/api/auth/api-key/verify', { headers: { cookie: member.cookie }, body: { key: introspector } });
    expect(own.status).toBe(400); // no orgid header: the call must name the organization it acts in
    const foreign = await rest(w.url, 'POST', '/api/auth/api-key/verify', { headers: { cookie: member.cookie, orgid: org }, body: { key: introspector } });
    expect(foreign.status).toBe(404); // not a member there: no hint the organization exists
  });
});
