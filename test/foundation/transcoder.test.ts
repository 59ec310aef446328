// The REST transcoding layer: path templates, bindings read from the proto, envelope and status table.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code, createConnectRouter, createContextValues, createServiceImplSpec } from '@connectrpc/connect';
import type { UniversalHandler } from '@connectrpc/connect/protocol';
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { OrgService } from '../../gen/latchkey/v1/org_pb.js';
import { TokenService } from '../../gen/latchkey/v1/token_pb.js';
import { matchPath, parsePathTemplate } from '../../src/transport/rest/path-template.js';
import { buildRequestJson } from '../../src/transport/rest/request-json.js';
import { RouteTable } from '../../src/transport/rest/route-table.js';
import { httpErrorFor } from '../../src/transport/rest/status.js';
import { createTranscoder } from '../../src/transport/rest/transcoder.js';
import { signUpAndIn } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('path templates', () => {
  it('matches literals, variables, * and ** and decodes segments', () => {
    const t = parsePathTemplate('/api/user/organizations/{organization_id}/members/{user_id}');
    expect(matchPath(t, '/api/user/organizations/O1/members/U%2F2')).toEqual({ organization_id: 'O1', user_id: 'U/2' });
    expect(matchPath(t, '/api/user/organizations/O1/members')).toBeUndefined();
    const deep = parsePathTemplate('/v1/{name=projects/*/files/**}:download');
    expect(matchPath(deep, '/v1/projects/p1/files/a/b.txt:download')).toEqual({ name: 'projects/p1/files/a/b.txt' });
    expect(matchPath(deep, '/v1/projects/p1/files/a/b.txt')).toBeUndefined();
    const anon = parsePathTemplate('/v1/*/items/{id}');
    expect(matchPath(anon, '/v1/x/items/7')).toEqual({ id: '7' });
  });

  it('prefers literal segments over variables (GET /api-key/list is not GetApiKey)', () => {
    const table = new RouteTable([ApiKeyService]);
    const list = table.find('GET', '/api-key/list');
    expect(list && 'route' in list && list.route.method.name).toBe('ListApiKeys');
    const get = table.find('GET', '/api-key/ak_123');
    expect(get && 'route' in get && get.route.method.name).toBe('GetApiKey');
    expect(get && 'vars' in get && get.vars).toEqual({ key_id: 'ak_123' });
  });

  it('reads every REST path of API.md, additional bindings included, from the descriptors', () => {
    const table = new RouteTable([AuthService, OrgService, ApiKeyService, TokenService]);
    const paths = table.all.map((r) => `${r.httpMethod} ${r.template.source} → ${r.method.name}`);
    for (const p of [
      'POST /api/auth/sign-up/email → SignUp',
      'GET /magic-link → RequestMagicLink',
      'POST /api/auth/magic-link → RequestMagicLink',
      'POST /user/refresh → RefreshAccessToken',
      'GET /profile/whoami → GetMe',
      'POST /v2/partner/api_keys → CreateApiKey',
      'POST /v1/organizations/api_keys → CreateApiKey',
      'GET /api/user/api-keys → ListApiKeys',
      'DELETE /v2/partner/api_keys/{key_id} → RevokeApiKey',
      'POST /v1/{organization}/user/signin_with_api_key → SignInWithApiKey',
      'GET /.well-known/jwks.json → GetJwks',
    ]) {
      expect(paths).toContain(p);
    }
    expect(paths.length).toBeGreaterThanOrEqual(49);
  });
});

describe('request JSON from path, query and body', () => {
  const method = (svc: typeof OrgService | typeof ApiKeyService | typeof AuthService, name: string) => svc.methods.find((m) => m.name === name)!;

  it('types query parameters (integers, repeated, nested) and lets path variables win', () => {
    const m = method(OrgService, 'ListAuditEvents');
    const json = buildRequestJson(m.input, '', undefined, { organization_id: 'ORG' }, new URLSearchParams('page_size=20&type=a&organizationId=OTHER&startTime=2026-01-01T00:00:00Z&unknown=1'));
    expect(json).toEqual({ organizationId: 'ORG', pageSize: 20, type: 'a', startTime: '2026-01-01T00:00:00Z' });
    const list = buildRequestJson(method(ApiKeyService, 'VerifyApiKey').input, '', undefined, {}, new URLSearchParams('required_scopes=a&required_scopes=b,c'));
    expect(list).toEqual({ requiredScopes: ['a', 'b', 'c'] });
    const nested = buildRequestJson(method(ApiKeyService, 'CreateApiKey').input, '', undefined, {}, new URLSearchParams('rate_limit.requests_per_minute=60'));
    expect(nested).toEqual({ rateLimit: { requestsPerMinute: 60 } });
  });

  it('refuses a non-integer for an integer field, naming it', () => {
    const m = method(OrgService, 'ListMembers');
    expect(() => buildRequestJson(m.input, '', undefined, {}, new URLSearchParams('page_size=ten'))).toThrow(/pageSize: must be an integer/);
  });

  it('puts the body into the named field for body: "field" and merges path vars for body: "*"', () => {
    const m = method(OrgService, 'UpdateMemberRole');
    expect(buildRequestJson(m.input, 'role', 'admin', { organization_id: 'O', user_id: 'U' }, new URLSearchParams())).toEqual({ role: 'admin', organizationId: 'O', userId: 'U' });
    expect(buildRequestJson(m.input, '*', { role: 'member', userId: 'X' }, { organization_id: 'O', user_id: 'U' }, new URLSearchParams('role=admin'))).toEqual({
      role: 'member',
      organizationId: 'O',
      userId: 'U',
    });
  });
});

describe('status table', () => {
  it('maps every Connect code to an HTTP status and envelope code', () => {
    const expected: Record<number, [number, string]> = {
      [Code.InvalidArgument]: [400, 'BAD_REQUEST'],
      [Code.Unauthenticated]: [401, 'UNAUTHORIZED'],
      [Code.PermissionDenied]: [403, 'FORBIDDEN'],
      [Code.NotFound]: [404, 'NOT_FOUND'],
      [Code.AlreadyExists]: [409, 'CONFLICT'],
      [Code.ResourceExhausted]: [429, 'RATE_LIMITED'],
      [Code.Unimplemented]: [501, 'UNAVAILABLE'],
      [Code.Unavailable]: [503, 'UNAVAILABLE'],
      [Code.Internal]: [500, 'INTERNAL'],
    };
    for (const [code, [status, name]] of Object.entries(expected)) {
      expect(httpErrorFor(Number(code) as Code)).toEqual({ status, code: name });
    }
    expect(httpErrorFor(Code.InvalidArgument, 'VALIDATION_ERROR')).toEqual({ status: 400, code: 'VALIDATION_ERROR' });
  });
});

describe('over HTTP', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ env: { MAX_BODY_BYTES: '4096' } });
  });
  afterAll(() => s?.stop());

  it('404 envelope for an unknown route, 405 with Allow for a wrong method', async () => {
    const nf = await rest(s.url, 'GET', '/no/such/route');
    expect(nf.status).toBe(404);
    expect(nf.body).toMatchObject({ success: false, status: 404, code: 'NOT_FOUND' });
    const na = await rest(s.url, 'PUT', '/api/user/me');
    expect(na.status).toBe(405);
    expect(na.headers.get('allow')).toBe('GET, PATCH'); // GetMe and UpdateMe
    expect(na.body).toMatchObject({ success: false, status: 405 });
  });

  it('400 BAD_REQUEST for malformed JSON and VALIDATION_ERROR naming a mistyped field', async () => {
    const malformed = await rest(s.url, 'POST', '/api/auth/sign-up/email', { rawBody: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({ success: false, status: 400, code: 'BAD_REQUEST', message: 'Malformed JSON in request body', reason: 'MALFORMED_BODY' });
    const typed = await rest(s.url, 'POST', '/api/auth/sign-up/email', { body: { email: 42, password: 'x' } });
    expect(typed.status).toBe(400);
    expect(typed.body).toMatchObject({ code: 'VALIDATION_ERROR', field: 'email' });
    const arr = await rest(s.url, 'POST', '/api/auth/sign-up/email', { body: [1, 2] });
    expect(arr.status).toBe(400);
  });

  it('413 when the body exceeds the configured limit, on REST and Connect', async () => {
    const big = { email: 'a@b.co', password: 'x'.repeat(5000), name: '' };
    const r = await rest(s.url, 'POST', '/api/auth/sign-up/email', { body: big });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ success: false, status: 413 });
    const c = await rest(s.url, 'POST', '/latchkey.v1.AuthService/SignUp', { body: big });
    expect(c.body.code).toBe('resource_exhausted');
  });

  it('ignores unknown JSON fields and never lets the body set the owner', async () => {
    const u = await signUpAndIn(s.url);
    const r = await rest(s.url, 'POST', '/api/auth/sign-up/email', { body: { email: `x${Date.now()}@example.com`, password: 'a-long-secure-passphrase', userId: u.userId, callbackURL: '/x' } });
    expect(r.body).toMatchObject({ success: true });
    expect(r.body.data.user.id).not.toBe(u.userId);
  });

  it('an RPC without an implementation answers 501 in the envelope, UNIMPLEMENTED over Connect', async () => {
    // A router serving AuthService with GetMe only: SignUp has no implementation, by construction.
    const router = createConnectRouter();
    router.service(AuthService, { getMe: () => ({}) });
    const handlers = new Map<string, UniversalHandler>(router.handlers.map((h) => [h.requestPath, h]));
    const methods = new Map(Object.values(createServiceImplSpec<typeof AuthService>(AuthService, { getMe: () => ({}) }).methods).flatMap((m) => (m.kind === 'unary' ? [[m.method, m] as const] : [])));
    const transcode = createTranscoder({ routes: new RouteTable([AuthService]), methods, interceptors: [], maxBodyBytes: 4096 });
    const server = http.createServer(async (req, res) => {
      const h = handlers.get(req.url ?? '');
      if (h) return universalResponseToNodeResponse(await h(universalRequestFromNodeRequest(req, res, undefined, createContextValues())), res);
      await transcode(req, res, createContextValues(), new AbortController().signal);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const r = await rest(url, 'POST', '/api/auth/sign-up/email', { body: { email: 'a@b.co', password: 'x' } });
      expect(r.status).toBe(501);
      expect(r.body).toMatchObject({ success: false, status: 501, code: 'UNAVAILABLE' });
      const c = await rest(url, 'POST', '/latchkey.v1.AuthService/SignUp', { body: {} });
      expect(c.status).toBe(501);
      expect(c.body.code).toBe('unimplemented');
    } finally {
      server.close();
    }
  });

  it('passes request headers through and returns x-request-id (echoing the client one)', async () => {
    const r = await rest(s.url, 'GET', '/api/user/me', { headers: { 'x-request-id': 'trace-123' } });
    expect(r.headers.get('x-request-id')).toBe('trace-123');
    const gen = await rest(s.url, 'GET', '/api/user/me');
    expect(gen.headers.get('x-request-id')).toMatch(/^[0-9A-Z]{26}$/);
  });

  it('health: /healthz, /readyz (database) and grpc.health.v1 over Connect JSON', async () => {
    expect((await rest(s.url, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await rest(s.url, 'GET', '/readyz')).body).toEqual({ status: 'ok' });
    const h = await rest(s.url, 'POST', '/grpc.health.v1.Health/Check', { body: {} });
    expect(h.body).toEqual({ status: 'SERVING' });
  });
});
