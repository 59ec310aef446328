// The first vertical slice (sign-up, sign-in, GetMe, ListMyOrganizations, sign-out) over every protocol.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { OrgService } from '../../gen/latchkey/v1/org_pb.js';
import { PASSWORD, uniqueEmail } from '../helpers/accounts.js';
import { client, PROTOCOLS, rest, sessionCookieOf } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s?.stop());

describe('REST (seed 001 quick start)', () => {
  const email = uniqueEmail('rest');
  let cookie = '';
  let organizationId = '';

  it('signs up: user, default organization, root_admin', async () => {
    const res = await rest(s.url, 'POST', '/api/auth/sign-up/email', { body: { email, password: PASSWORD, name: 'Your Name' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, status: 200, code: 'OK' });
    expect(res.body.data.user).toMatchObject({ email, fullName: 'Your Name', isVerified: false, isActive: true, organizationCount: 1 });
    expect(res.body.data.organization).toMatchObject({ role: 'root_admin', type: 'personal' });
    organizationId = res.body.data.organization.id;
  });

  it('refuses a second sign-up with the same email (any case) with 409 CONFLICT', async () => {
    const res = await rest(s.url, 'POST', '/api/auth/sign-up/email', { body: { email: email.toUpperCase(), password: PASSWORD, name: 'X' } });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ success: false, status: 409, code: 'CONFLICT', message: 'An account with this email already exists', reason: 'ALREADY_EXISTS' });
  });

  it('validates email and password length, naming the field', async () => {
    const bad = await rest(s.url, 'POST', '/api/auth/sign-up/email', { body: { email: 'not-an-email', password: PASSWORD } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'VALIDATION_ERROR', field: 'email' });
    const short = await rest(s.url, 'POST', '/api/auth/sign-up/email', { body: { email: uniqueEmail(), password: 'short' } });
    expect(short.status).toBe(400);
    expect(short.body).toMatchObject({ code: 'VALIDATION_ERROR', field: 'password' });
  });

  it('signs in with a HttpOnly SameSite=Lax cookie (not Secure on loopback http)', async () => {
    const res = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: PASSWORD } });
    expect(res.status).toBe(200);
    const setCookie = res.headers.getSetCookie()[0];
    expect(setCookie).toMatch(/^latchkey_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    cookie = sessionCookieOf(res);
  });

  it('gives the same 401 for a wrong password and an unknown email', async () => {
    const wrong = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: 'wrong-password-123' } });
    const unknown = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email: uniqueEmail('nobody'), password: PASSWORD } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
  });

  it('GET /api/user/me returns the user fields of seed 001', async () => {
    const res = await rest(s.url, 'GET', '/api/user/me', { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.data).sort()).toEqual(
      expect.arrayContaining(['id', 'email', 'fullName', 'handle', 'isVerified', 'isActive', 'lastLoginAt', 'role', 'organizationCount', 'createdAt', 'updatedAt']),
    );
    expect(res.body.data).toMatchObject({ email, role: 'user', organizationCount: 1 });
    const whoami = await rest(s.url, 'GET', '/profile/whoami', { headers: { cookie, orgid: organizationId } });
    expect(whoami.body.data).toEqual(res.body.data);
    // Seed 000: AppEngine paths need orgid.
    expect((await rest(s.url, 'GET', '/profile/whoami', { headers: { cookie } })).status).toBe(400);
  });

  it('GET /api/user/organizations lists the default organization', async () => {
    const res = await rest(s.url, 'GET', '/api/user/organizations', { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.body.data.organizations).toHaveLength(1);
    expect(res.body.data.organizations[0]).toMatchObject({ role: 'root_admin' });
  });

  it('signs out: the cookie stops working at once', async () => {
    const out = await rest(s.url, 'POST', '/api/auth/sign-out', { headers: { cookie } });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie()[0]).toMatch(/^latchkey_session=; .*Max-Age=0/);
    const me = await rest(s.url, 'GET', '/api/user/me', { headers: { cookie } });
    expect(me.status).toBe(401);
    expect(me.body.code).toBe('UNAUTHORIZED');
  });

  it('answers 401 "Missing Authorization header" without a credential', async () => {
    const res = await rest(s.url, 'GET', '/api/user/me');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ success: false, status: 401, code: 'UNAUTHORIZED', message: 'Missing Authorization header', reason: 'CREDENTIAL_MISSING' });
  });
});

describe.each(PROTOCOLS)('%s clients', (protocol) => {
  it('sign-up, sign-in (cookie via response header), GetMe, ListMyOrganizations, errors as codes', async () => {
    const auth = client(AuthService, s.url, protocol);
    const orgs = client(OrgService, s.url, protocol);
    const email = uniqueEmail(protocol);
    const up = await auth.signUp({ email, password: PASSWORD, name: protocol });
    expect(up.user?.email).toBe(email);
    expect(up.organization?.role).toBe('root_admin');

    let setCookie = '';
    const signedIn = await auth.signIn({ email, password: PASSWORD }, { onHeader: (h) => (setCookie = h.get('set-cookie') ?? '') });
    expect(signedIn.user?.id).toBe(up.user?.id);
    const cookie = setCookie.split(';')[0];
    expect(cookie).toMatch(/^latchkey_session=/);

    const me = await auth.getMe({}, { headers: { cookie } });
    expect(me.user).toMatchObject({ id: up.user?.id, email, organizationCount: 1 });
    const list = await orgs.listMyOrganizations({}, { headers: { cookie } });
    expect(list.organizations.map((o) => o.id)).toEqual([up.organization?.id]);

    const dup = await auth.signUp({ email, password: PASSWORD, name: 'again' }).catch((e) => e);
    expect(ConnectError.from(dup).code).toBe(Code.AlreadyExists);
    const anon = await auth.getMe({}).catch((e) => e);
    expect(ConnectError.from(anon).code).toBe(Code.Unauthenticated);
    expect(ConnectError.from(anon).rawMessage).toBe('Missing Authorization header');
  });
});

describe('buf curl (a real gRPC client outside this process)', () => {
  it('calls Health/Check and AuthService/SignUp over gRPC', async () => {
    const run = promisify(execFile);
    const base = ['buf', 'curl', '--schema', 'proto', '--protocol', 'grpc', '--http2-prior-knowledge'];
    const health = await run('npx', [...base, '-d', '{}', `${s.url}/grpc.health.v1.Health/Check`]);
    expect(JSON.parse(health.stdout)).toEqual({ status: 'SERVING' });
    const email = uniqueEmail('bufcurl');
    const up = await run('npx', [...base, '-d', JSON.stringify({ email, password: PASSWORD, name: 'Buf' }), `${s.url}/latchkey.v1.AuthService/SignUp`]);
    expect(JSON.parse(up.stdout).user.email).toBe(email);
  });
});
