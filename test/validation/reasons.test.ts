// Every error carries a stable reason from the catalogue: the ErrorInfo reason on Connect and
// gRPC, `reason` in the REST envelope (whose `code` keeps its meaning). Validation errors name
// the lowerCamelCase JSON field: `field` on REST, a google.rpc.BadRequest detail elsewhere.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestSchema, ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { ErrorReason, ErrorReasonSchema } from '../../gen/latchkey/v1/common_pb.js';
import { OrgService } from '../../gen/latchkey/v1/org_pb.js';
import { REASONS } from '../../src/modules/common/errors.js';
import { cookie, createKey, newUser, startWorld, type World, xApiKey } from '../apikey/fixtures.js';
import { PASSWORD, type TestUser, uniqueEmail } from '../helpers/accounts.js';
import { client, type Protocol, rest } from '../helpers/clients.js';

let w: World;
let root: TestUser;

beforeAll(async () => {
  w = await startWorld();
  root = await newUser(w, 'Root');
});
afterAll(() => w?.stop());

const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('the call succeeded'),
    (e) => ConnectError.from(e),
  );
const reasonOf = (e: ConnectError) => e.findDetails(ErrorInfoSchema)[0]?.reason;
const fieldsOf = (e: ConnectError) => e.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations.map((v) => v.field));

describe('the catalogue', () => {
  it('is the ErrorReason enum of common.proto, value for value', () => {
    const proto = ErrorReasonSchema.values.filter((v) => v.number !== ErrorReason.UNSPECIFIED).map((v) => v.name.replace(/^ERROR_REASON_/, ''));
    expect(proto.sort()).toEqual(Object.keys(REASONS).sort());
  });
});

describe('validation errors name the JSON field', () => {
  it('REST: VALIDATION_ERROR with a lowerCamelCase field, nested included', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', '/api/auth/api-key/create', { name: 'k', rateLimit: { requestsPerMinute: -1 } }, 'rateLimit.requestsPerMinute'],
      ['POST', '/api/auth/api-key/create', { name: 'k', scopes: ['read', 'has space'] }, 'scopes[1]'],
      ['POST', '/api/auth/api-key/create', { name: '   ' }, 'name'],
      ['POST', '/api/auth/api-key/create', { name: 'k', expiresIn: -5 }, 'expiresIn'],
      ['POST', '/api/auth/api-key/create', { name: 'k', refill: { interval: 'week', amount: 5 } }, 'refill.interval'],
      ['POST', '/api/auth/api-key/create', { name: 'k', remaining: -1 }, 'remaining'],
      ['POST', '/api/user/organizations', { name: 'Acme', slug: 'Not A Slug' }, 'slug'],
      ['POST', '/api/auth/sign-up/email', { email: 'not-an-email', password: PASSWORD, name: 'x' }, 'email'],
      ['POST', '/api/auth/sign-up/email', { email: uniqueEmail(), password: 'short', name: 'x' }, 'password'],
      ['POST', '/api/auth/reset-password', { token: 't', newPassword: 'short' }, 'newPassword'],
      ['GET', `/api/user/organizations/${'x'.repeat(80)}`, undefined, 'organizationId'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await rest(w.url, method, path, { body, headers: cookie(root) });
      expect(r.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(r.body, `${path} ${JSON.stringify(body)}`).toMatchObject({ success: false, code: 'VALIDATION_ERROR', reason: 'VALIDATION_FAILED', field });
      expect(r.body.message).toContain(field);
    }
    // The one id rule (latchkey/v1/validate.proto), on every service that takes ids.
    for (const [path, field] of [
      ['/api/user/organizations/bad!id', 'organizationId'],
      [`/api/organizations/${root.organizationId}/sso/connections/bad.id`, 'connectionId'],
      [`/api/organizations/${root.organizationId}/webhooks/${'w'.repeat(65)}`, 'endpointId'],
    ]) {
      const r = await rest(w.url, 'GET', path, { headers: cookie(root) });
      expect(r.body, path).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', field });
      expect(r.body.message, path).toContain('must be an id: letters, digits, _ and -, at most 64');
    }
    const both = await rest(w.url, 'POST', '/api/auth/api-key/create', { body: { name: 'k', expiresIn: 60, expiresAt: '2030-01-01T00:00:00Z' }, headers: cookie(root) });
    expect(both.body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
  });

  it.each<Protocol>(['connect', 'connect-binary', 'grpc', 'grpc-web'])('%s: invalid_argument with ErrorInfo VALIDATION_FAILED and a BadRequest detail', async (protocol) => {
    const headers = cookie(root);
    const keys = client(ApiKeyService, w.url, protocol);
    const e1 = await failure(keys.createApiKey({ name: 'k', rateLimit: { requestsPerMinute: 2_000_000 }, scopes: ['ok', '-bad'] }, { headers }));
    expect(e1.code).toBe(Code.InvalidArgument);
    expect(reasonOf(e1)).toBe('VALIDATION_FAILED');
    expect(fieldsOf(e1).sort()).toEqual(['rateLimit.requestsPerMinute', 'scopes[1]']);
    const e2 = await failure(keys.regenerateApiKey({ keyId: 'ak_x', gracePeriodSeconds: 90_000n }, { headers }));
    expect(fieldsOf(e2)).toEqual(['gracePeriodSeconds']);
    const orgs = client(OrgService, w.url, protocol);
    const e3 = await failure(orgs.updateMemberRole({ organizationId: root.organizationId, userId: root.userId, role: 'owner' }, { headers }));
    expect(fieldsOf(e3)).toEqual(['role']);
    const e4 = await failure(orgs.listMembers({ organizationId: root.organizationId, pageSize: -1 }, { headers }));
    expect(fieldsOf(e4)).toEqual(['pageSize']);
    const auth = client(AuthService, w.url, protocol);
    const e5 = await failure(auth.signUp({ email: 'nope', password: 'short', name: 'x' }));
    expect(fieldsOf(e5).sort()).toEqual(['email', 'password']);
    expect(reasonOf(e5)).toBe('VALIDATION_FAILED');
  });
});

describe('representative errors carry their reason on REST and on Connect/gRPC', () => {
  it('missing credential, invalid key, missing scope, tenant required', async () => {
    const none = await rest(w.url, 'GET', '/api/user/me');
    expect(none.body).toMatchObject({ status: 401, code: 'UNAUTHORIZED', reason: 'CREDENTIAL_MISSING' });
    expect(reasonOf(await failure(client(AuthService, w.url, 'grpc').getMe({})))).toBe('CREDENTIAL_MISSING');

    const bogus = await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey('lk_0000000000000000000000000000000000000000000000') });
    expect(bogus.body).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(['API_KEY_INVALID', 'CREDENTIAL_INVALID']).toContain(bogus.body.reason);

    const readOnly = await createKey(w, cookie(root, { orgid: root.organizationId }), { scopes: ['api-keys:read'] });
    const scoped = await rest(w.url, 'POST', '/api/auth/api-key/create', { body: { name: 'x' }, headers: xApiKey(readOnly.key) });
    expect(scoped.body).toMatchObject({ status: 403, code: 'FORBIDDEN', reason: 'SCOPE_MISSING' });
    const e = await failure(client(ApiKeyService, w.url, 'connect').createApiKey({ name: 'x' }, { headers: xApiKey(readOnly.key) }));
    expect(e.code).toBe(Code.PermissionDenied);
    expect(reasonOf(e)).toBe('SCOPE_MISSING');

    const tenantless = await rest(w.url, 'GET', '/v2/partner/api_keys', { headers: cookie(root) });
    expect(tenantless.body).toMatchObject({ status: 400, code: 'BAD_REQUEST', reason: 'TENANT_REQUIRED' });
    const t = await failure(client(ApiKeyService, w.url, 'grpc-web').verifyApiKey({ key: readOnly.key }, { headers: cookie(root) }));
    expect(t.code).toBe(Code.InvalidArgument);
    expect(reasonOf(t)).toBe('TENANT_REQUIRED');
  });

  it('revoked and expired keys', async () => {
    const headers = cookie(root, { orgid: root.organizationId });
    const revoked = await createKey(w, headers);
    expect((await rest(w.url, 'DELETE', `/api-key/${revoked.id}`, { headers })).status).toBe(200);
    const r = await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(revoked.key) });
    expect(r.body).toMatchObject({ status: 401, code: 'UNAUTHORIZED', reason: 'API_KEY_REVOKED' });
    expect(reasonOf(await failure(client(AuthService, w.url, 'grpc').getMe({}, { headers: xApiKey(revoked.key) })))).toBe('API_KEY_REVOKED');
    const again = await rest(w.url, 'PATCH', `/api-key/${revoked.id}`, { body: { name: 'new' }, headers });
    expect(again.body).toMatchObject({ status: 400, code: 'BAD_REQUEST', reason: 'API_KEY_ALREADY_REVOKED' });

    const expiring = await createKey(w, headers, { expiresIn: 60 });
    w.server.clock.advance(120);
    try {
      const x = await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(expiring.key) });
      expect(x.body).toMatchObject({ status: 401, code: 'UNAUTHORIZED', reason: 'API_KEY_EXPIRED' });
      const ex = await failure(client(AuthService, w.url, 'connect-binary').getMe({}, { headers: xApiKey(expiring.key) }));
      expect(ex.code).toBe(Code.Unauthenticated);
      expect(reasonOf(ex)).toBe('API_KEY_EXPIRED');
    } finally {
      w.server.clock.advance(-120);
    }
  });

  it('every envelope error has a reason, including those the transcoder answers itself', async () => {
    const noRoute = await rest(w.url, 'GET', '/no/such/route');
    expect(noRoute.body).toMatchObject({ status: 404, code: 'NOT_FOUND', reason: 'NOT_FOUND' });
    const wrongMethod = await rest(w.url, 'PUT', '/api/auth/sign-up/email');
    expect(wrongMethod.body).toMatchObject({ status: 405, reason: 'METHOD_NOT_ALLOWED' });
    const wrongPassword = await rest(w.url, 'POST', '/api/auth/sign-in/email', { body: { email: root.email, password: 'wrong-password-123' } });
    expect(wrongPassword.body).toMatchObject({ status: 401, code: 'UNAUTHORIZED', reason: 'SIGN_IN_FAILED' });
  });
});
