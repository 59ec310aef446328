// Organization security policies, each enforced over REST and gRPC: a required second factor (403
// until enrolled, and sign-in says so), allowed invitation domains, API-key lifetime, and the
// maximum session lifetime. Only admins change the policy; the change is audited.
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { OrgService } from '../../gen/latchkey/v1/org_pb.js';
import { OrgPolicyService } from '../../gen/latchkey/v1/policy_pb.js';
import { PASSWORD, type TestUser } from '../helpers/accounts.js';
import { rest, transport } from '../helpers/clients.js';
import { auditTypes, join, newUser, session, startWorld, type World } from '../org/fixtures.js';
import { enrolTotp, signInWithTotp } from './helpers.js';

let w: World;
let alice: TestUser; // root_admin, with TOTP
let bob: TestUser; // member, no second factor yet
let org: string;
const grpc = () => transport(w.server.url, 'grpc');
const reasonOf = (e: unknown) => ConnectError.from(e).findDetails(ErrorInfoSchema)[0]?.reason;
const base = { requireSecondFactor: 'none', allowedInvitationDomains: [] as string[], maxSessionSeconds: 0, maxApiKeyLifetimeSeconds: 0, apiKeysMustExpire: false };
const setPolicy = (u: { cookie: string }, policy: Partial<typeof base>) => rest(w.server.url, 'PUT', `/api/user/organizations/${org}/policy`, { body: { ...base, ...policy }, headers: session(u) });

beforeAll(async () => {
  w = await startWorld();
  alice = await newUser(w, 'Alice');
  org = alice.organizationId;
  bob = await newUser(w, 'Bob');
  await join(w, alice, org, bob, 'member');
  const { secret } = await enrolTotp(w.server, alice.cookie);
  alice = { ...alice, cookie: await signInWithTotp(w.server, alice.email, secret, 1) };
});
afterAll(() => w?.stop());

describe('organization policy', () => {
  it('is read by members, changed by admins only, and the change is audited', async () => {
    const get = await rest(w.server.url, 'GET', `/api/user/organizations/${org}/policy`, { headers: session(bob) });
    expect(get.status).toBe(200);
    expect(get.body.data).toMatchObject({ requireSecondFactor: 'none', apiKeysMustExpire: false });
    expect((await setPolicy(bob, { apiKeysMustExpire: true })).status).toBe(403);
    const bad = await setPolicy(alice, { requireSecondFactor: 'sometimes' });
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_ERROR']);
    const badDomain = await setPolicy(alice, { allowedInvitationDomains: ['not a domain'] });
    expect(badDomain.status).toBe(400);
    expect((await setPolicy(alice, {})).status).toBe(200);
    expect(await auditTypes(w, alice, org)).toContain('org.policy_updated');
  });

  it('a required second factor: members without one get 403 in the organization until they enrol (REST and gRPC)', async () => {
    expect((await setPolicy(alice, { requireSecondFactor: 'all' })).status).toBe(200);
    const r = await rest(w.server.url, 'GET', `/api/user/organizations/${org}`, { headers: session(bob) });
    expect([r.status, r.body.reason]).toEqual([403, 'SECOND_FACTOR_ENROLMENT_REQUIRED']);
    const orgs = createClient(OrgService, grpc());
    const err = await orgs.getOrganization({ organizationId: org }, { headers: { cookie: bob.cookie } }).catch((e) => e);
    expect(ConnectError.from(err).code).toBe(Code.PermissionDenied);
    expect(reasonOf(err)).toBe('SECOND_FACTOR_ENROLMENT_REQUIRED');
    // Their own organization (no policy) still answers; alice (with TOTP) is unaffected.
    expect((await rest(w.server.url, 'GET', `/api/user/organizations/${bob.organizationId}`, { headers: session(bob) })).status).toBe(200);
    expect((await rest(w.server.url, 'GET', `/api/user/organizations/${org}`, { headers: session(alice) })).status).toBe(200);
    // Sign-in tells bob to enrol.
    const signIn = await rest(w.server.url, 'POST', '/api/auth/sign-in/email', { body: { email: bob.email, password: PASSWORD } });
    expect(signIn.body.data.secondFactorEnrolmentRequired).toBe(true);
    await enrolTotp(w.server, bob.cookie);
    expect((await rest(w.server.url, 'GET', `/api/user/organizations/${org}`, { headers: session(bob) })).status).toBe(200);
    expect((await orgs.getOrganization({ organizationId: org }, { headers: { cookie: bob.cookie } })).organization?.id).toBe(org);
  });

  it('"admins" asks admins only', async () => {
    expect((await setPolicy(alice, {})).status).toBe(200);
    const carol = await newUser(w, 'Carol');
    const dave = await newUser(w, 'Dave');
    await join(w, alice, org, carol, 'member');
    await join(w, alice, org, dave, 'admin');
    // An admin without a second factor cannot require one (they would lock themselves out).
    const lockout = await setPolicy(dave, { requireSecondFactor: 'admins' });
    expect([lockout.status, lockout.body.reason]).toEqual([400, 'FAILED_PRECONDITION']);
    expect((await setPolicy(alice, { requireSecondFactor: 'admins' })).status).toBe(200);
    expect((await rest(w.server.url, 'GET', `/api/user/organizations/${org}`, { headers: session(carol) })).status).toBe(200);
    const r = await rest(w.server.url, 'GET', `/api/user/organizations/${org}/members`, { headers: session(dave) });
    expect([r.status, r.body.reason]).toEqual([403, 'SECOND_FACTOR_ENROLMENT_REQUIRED']);
    expect((await setPolicy(alice, {})).status).toBe(200);
    expect((await rest(w.server.url, 'GET', `/api/user/organizations/${org}/members`, { headers: session(dave) })).status).toBe(200);
  });

  it('invitations go only to the allowed domains (REST and gRPC)', async () => {
    expect((await setPolicy(alice, { allowedInvitationDomains: ['Example.org'] })).status).toBe(200);
    const no = await rest(w.server.url, 'POST', `/api/user/organizations/${org}/invitations`, { body: { email: 'x@example.com' }, headers: session(alice) });
    expect([no.status, no.body.code]).toEqual([400, 'VALIDATION_ERROR']);
    expect(no.body.message).toMatch(/^email: .*example\.org/);
    const err = await createClient(OrgService, grpc())
      .inviteMember({ organizationId: org, email: 'y@example.com' }, { headers: { cookie: alice.cookie } })
      .catch((e) => e);
    expect(ConnectError.from(err).code).toBe(Code.InvalidArgument);
    const yes = await rest(w.server.url, 'POST', `/api/user/organizations/${org}/invitations`, { body: { email: 'x@example.org' }, headers: session(alice) });
    expect(yes.status).toBe(200);
    expect((await setPolicy(alice, {})).status).toBe(200);
  });

  it('API keys: "must expire" and a maximum lifetime, a 400 naming the limit (REST and gRPC)', async () => {
    expect((await setPolicy(alice, { apiKeysMustExpire: true, maxApiKeyLifetimeSeconds: 3600 })).status).toBe(200);
    const create = (body: Record<string, unknown>) =>
      rest(w.server.url, 'POST', '/api/auth/api-key/create', { body: { name: 'k', scopes: ['api-keys:read'], ...body }, headers: { cookie: alice.cookie, orgid: org } });
    const never = await create({});
    expect([never.status, never.body.code]).toEqual([400, 'VALIDATION_ERROR']);
    expect(never.body.message).toMatch(/expiresIn: is required.*3600 seconds/);
    const long = await create({ expiresIn: 7200 });
    expect(long.status).toBe(400);
    expect(long.body.message).toContain('maximum API-key lifetime of 3600 seconds');
    expect((await create({ expiresIn: 1800 })).status).toBe(200);
    const keys = createClient(ApiKeyService, grpc());
    const err = await keys.createApiKey({ name: 'g', scopes: ['api-keys:read'], expiresIn: 7200n }, { headers: { cookie: alice.cookie, orgid: org } }).catch((e) => e);
    expect(ConnectError.from(err).code).toBe(Code.InvalidArgument);
    expect(ConnectError.from(err).rawMessage).toContain('3600 seconds');
    expect((await keys.createApiKey({ name: 'g', scopes: ['api-keys:read'], expiresIn: 600n }, { headers: { cookie: alice.cookie, orgid: org } })).key).toBeTruthy();
    // A personal token (no organization) is not the organization's key.
    expect((await rest(w.server.url, 'POST', '/api/auth/api-key/create', { body: { name: 'pat', scopes: ['user:read'] }, headers: { cookie: alice.cookie } })).status).toBe(200);
    expect((await setPolicy(alice, {})).status).toBe(200);
  });

  it('a maximum session lifetime ends older sessions in the organization (REST and gRPC)', async () => {
    const signIn = await rest(w.server.url, 'POST', '/api/auth/sign-in/email', { body: { email: bob.email, password: PASSWORD } });
    expect(signIn.status).toBe(200);
    expect((await setPolicy(alice, { maxSessionSeconds: 300 })).status).toBe(200);
    w.server.clock.advance(301);
    try {
      const r = await rest(w.server.url, 'GET', `/api/user/organizations/${org}/policy`, { headers: session(alice) });
      expect([r.status, r.body.reason]).toEqual([401, 'SESSION_EXPIRED']);
      expect(r.body.message).toContain('300 s');
      // The same answer over gRPC.
      const err = await createClient(OrgPolicyService, grpc())
        .getOrgPolicy({ organizationId: org }, { headers: { cookie: alice.cookie } })
        .catch((e) => e);
      expect(ConnectError.from(err).code).toBe(Code.Unauthenticated);
      // Elsewhere the session still works.
      expect((await rest(w.server.url, 'GET', '/api/user/me', { headers: session(alice) })).status).toBe(200);
    } finally {
      w.server.clock.advance(-301);
    }
  });
});
