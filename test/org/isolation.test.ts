// Isolation matrix: every tenant-scoped OrgService RPC, over REST and gRPC, called by a user of
// another organization with each kind of credential and each placement of the victim's organization
// id (path, orgid, x-organization-id). No response may carry anything of the victim organization,
// and nothing of it may change.
import { ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PASSWORD, type TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { auditTypes, createOrg, invite, join, newUser, orgClient, session, startWorld, type World } from './fixtures.js';

let w: World;
let vic: TestUser, mia: TestUser, eve: TestUser;
let victim: { id: string; name: string; slug: string };
let victimClient: string, invitationId: string, ownPartner: string;
const SECRET_INVITEE = 'secret-invitee@example.com';
let auditBefore: string[];

// Eve's real credentials: a session cookie, a sign-in access token (JWT), a key of her own
// organization, a personal access token, and a key pinned to her organization.
type Kind = 'session' | 'access token' | 'org api key' | 'personal access token' | 'pinned api key';
let credentials: Record<Kind, Record<string, string>>;

interface Route {
  rpc: string;
  tenant: 'path' | 'header';
  rest: (org: string) => { method: string; path: string; body?: object };
  grpc: (c: ReturnType<typeof orgClient>, org: string, headers: Record<string, string>) => Promise<unknown>;
}

const ROUTES: Route[] = [
  { rpc: 'GetOrganization', tenant: 'path', rest: (o) => ({ method: 'GET', path: `/api/user/organizations/${o}` }), grpc: (c, o, h) => c.getOrganization({ organizationId: o }, { headers: h }) },
  {
    rpc: 'UpdateOrganization',
    tenant: 'path',
    rest: (o) => ({ method: 'PATCH', path: `/api/user/organizations/${o}`, body: { name: 'pwned' } }),
    grpc: (c, o, h) => c.updateOrganization({ organizationId: o, name: 'pwned' }, { headers: h }),
  },
  {
    rpc: 'DeleteOrganization',
    tenant: 'path',
    rest: (o) => ({ method: 'DELETE', path: `/api/user/organizations/${o}` }),
    grpc: (c, o, h) => c.deleteOrganization({ organizationId: o }, { headers: h }),
  },
  { rpc: 'ListMembers', tenant: 'path', rest: (o) => ({ method: 'GET', path: `/api/user/organizations/${o}/members` }), grpc: (c, o, h) => c.listMembers({ organizationId: o }, { headers: h }) },
  {
    rpc: 'UpdateMemberRole',
    tenant: 'path',
    rest: (o) => ({ method: 'PATCH', path: `/api/user/organizations/${o}/members/${mia.userId}`, body: { role: 'admin' } }),
    grpc: (c, o, h) => c.updateMemberRole({ organizationId: o, userId: mia.userId, role: 'admin' }, { headers: h }),
  },
  {
    rpc: 'RemoveMember',
    tenant: 'path',
    rest: (o) => ({ method: 'DELETE', path: `/api/user/organizations/${o}/members/${mia.userId}` }),
    grpc: (c, o, h) => c.removeMember({ organizationId: o, userId: mia.userId }, { headers: h }),
  },
  {
    rpc: 'InviteMember',
    tenant: 'path',
    rest: (o) => ({ method: 'POST', path: `/api/user/organizations/${o}/invitations`, body: { email: eve.email, role: 'admin' } }),
    grpc: (c, o, h) => c.inviteMember({ organizationId: o, email: eve.email, role: 'admin' }, { headers: h }),
  },
  {
    rpc: 'ListInvitations',
    tenant: 'path',
    rest: (o) => ({ method: 'GET', path: `/api/user/organizations/${o}/invitations` }),
    grpc: (c, o, h) => c.listInvitations({ organizationId: o }, { headers: h }),
  },
  {
    rpc: 'RevokeInvitation',
    tenant: 'path',
    rest: (o) => ({ method: 'DELETE', path: `/api/user/organizations/${o}/invitations/${invitationId}` }),
    grpc: (c, o, h) => c.revokeInvitation({ organizationId: o, invitationId }, { headers: h }),
  },
  {
    rpc: 'ListAuditEvents',
    tenant: 'path',
    rest: (o) => ({ method: 'GET', path: `/api/user/organizations/${o}/audit-events` }),
    grpc: (c, o, h) => c.listAuditEvents({ organizationId: o }, { headers: h }),
  },
  {
    rpc: 'AddClientOrganization',
    tenant: 'header',
    rest: () => ({ method: 'POST', path: '/v2/partner/organizations', body: { name: 'pwned client' } }),
    grpc: (c, _o, h) => c.addClientOrganization({ name: 'pwned client' }, { headers: h }),
  },
  { rpc: 'ListClientOrganizations', tenant: 'header', rest: () => ({ method: 'GET', path: '/v2/partner/organizations' }), grpc: (c, _o, h) => c.listClientOrganizations({}, { headers: h }) },
];

/**
 * Placements of the victim's id. Path routes: in the path (no header); in a header contradicting the
 * caller's own organization in the path; gRPC also: only in a header (empty organization_id field).
 * Header routes: in orgid, in x-organization-id, and in one header contradicting the other.
 */
type Placement = { name: string; pathOrg: 'victim' | 'own' | 'empty'; headers: Record<string, 'victim' | 'own'> };
const PATH_PLACEMENTS: Placement[] = [
  { name: 'path', pathOrg: 'victim', headers: {} },
  { name: 'orgid (own org in path)', pathOrg: 'own', headers: { orgid: 'victim' } },
  { name: 'x-organization-id (own org in path)', pathOrg: 'own', headers: { 'x-organization-id': 'victim' } },
];
const GRPC_ONLY: Placement[] = [
  { name: 'orgid only (empty field)', pathOrg: 'empty', headers: { orgid: 'victim' } },
  { name: 'x-organization-id only (empty field)', pathOrg: 'empty', headers: { 'x-organization-id': 'victim' } },
];
const HEADER_PLACEMENTS: Placement[] = [
  { name: 'orgid', pathOrg: 'empty', headers: { orgid: 'victim' } },
  { name: 'x-organization-id', pathOrg: 'empty', headers: { 'x-organization-id': 'victim' } },
  { name: 'orgid own + x-organization-id victim', pathOrg: 'empty', headers: { orgid: 'own', 'x-organization-id': 'victim' } },
];

beforeAll(async () => {
  w = await startWorld();
  [vic, mia, eve] = await Promise.all([newUser(w, 'Victor Victim'), newUser(w, 'Mia Member'), newUser(w, 'Eve')]);
  victim = await createOrg(w, vic, { name: 'Victim Secret Corp', type: 'partner' });
  await join(w, vic, victim.id, mia, 'member');
  invitationId = (await invite(w, vic, victim.id, SECRET_INVITEE, 'admin')).invitationId;
  const c = await rest(w.server.url, 'POST', '/v2/partner/organizations', { body: { name: 'Victim Client Secret' }, headers: session(vic, { orgid: victim.id }) });
  victimClient = c.body.data.organization.id;
  // Eve is root_admin of her own default organization and of her own partner organization.
  ownPartner = (await createOrg(w, eve, { name: 'Eve Partner', type: 'partner' })).id;
  const signIn = await rest(w.server.url, 'POST', '/api/auth/sign-in/email', { body: { email: eve.email, password: PASSWORD } });
  const createKey = async (headers: Record<string, string>, body: object = {}) => {
    const r = await rest(w.server.url, 'POST', '/api/auth/api-key/create', { body: { name: 'eve key', ...body }, headers: session(eve, headers) });
    if (r.status !== 200) throw new Error(`key creation failed: ${JSON.stringify(r.body)}`);
    return r.body.data.key as string;
  };
  credentials = {
    session: session(eve),
    'access token': { authorization: `Bearer ${signIn.body.data.accessToken}` },
    'org api key': { 'x-api-key': await createKey({ orgid: eve.organizationId }) },
    'personal access token': { authorization: `Bearer ${await createKey({})}` },
    'pinned api key': { 'x-api-key': await createKey({}, { metadata: { organizationId: eve.organizationId } }) },
  };
  auditBefore = await auditTypes(w, vic, victim.id);
});
afterAll(() => w?.stop());

const secrets = () => [victim.id, victim.name, victim.slug, vic.userId, vic.email, mia.email, SECRET_INVITEE, victimClient, invitationId, 'Victim Client Secret'];

function leaks(text: string): string[] {
  return secrets().filter((s) => text.includes(s));
}

interface Outcome {
  status: number;
  emptyList: boolean;
  text: string;
}

const GRPC_TO_HTTP: Record<number, number> = { 3: 400, 5: 404, 7: 403, 16: 401, 9: 400 };

async function callRest(route: Route, org: string, headers: Record<string, string>): Promise<Outcome> {
  const { method, path, body } = route.rest(org);
  const r = await rest(w.server.url, method, path, { body, headers });
  const text = JSON.stringify(r.body);
  const data = r.body?.data;
  const emptyList = r.status === 200 && data && Object.values(data).some((v) => Array.isArray(v) && v.length === 0);
  return { status: r.status, emptyList: !!emptyList, text };
}

async function callGrpc(route: Route, org: string, headers: Record<string, string>): Promise<Outcome> {
  try {
    const res = (await route.grpc(orgClient(w.server.url, 'grpc'), org, headers)) as Record<string, unknown>;
    const emptyList = Object.values(res).some((v) => Array.isArray(v) && v.length === 0);
    return { status: 200, emptyList, text: JSON.stringify(res) };
  } catch (e) {
    const err = ConnectError.from(e);
    return { status: GRPC_TO_HTTP[err.code] ?? 500, emptyList: false, text: `${err.rawMessage} ${JSON.stringify([...err.metadata])}` };
  }
}

test('no response of the isolation matrix carries data of, or changes, a foreign organization', async () => {
  // Each credential works in Eve's own organization (so the refusals below are about the tenant).
  for (const kind of Object.keys(credentials) as Kind[]) {
    const mine = await rest(w.server.url, 'GET', `/api/user/organizations/${eve.organizationId}/members`, { headers: credentials[kind] });
    expect([kind, mine.status]).toEqual([kind, 200]);
  }
  const own = (r: Route) => (r.tenant === 'header' ? ownPartner : eve.organizationId);
  const cells: { cell: string; status: number; emptyList: boolean; leaked: string[] }[] = [];
  for (const route of ROUTES) {
    for (const protocol of ['rest', 'grpc'] as const) {
      const placements = route.tenant === 'header' ? HEADER_PLACEMENTS : protocol === 'grpc' ? [...PATH_PLACEMENTS, ...GRPC_ONLY] : PATH_PLACEMENTS;
      for (const placement of placements) {
        for (const kind of Object.keys(credentials) as Kind[]) {
          const id = (which: 'victim' | 'own' | 'empty') => (which === 'victim' ? victim.id : which === 'own' ? own(route) : '');
          const headers = { ...credentials[kind], ...Object.fromEntries(Object.entries(placement.headers).map(([h, which]) => [h, id(which)])) };
          const out = protocol === 'rest' ? await callRest(route, id(placement.pathOrg), headers) : await callGrpc(route, id(placement.pathOrg), headers);
          cells.push({ cell: `${route.rpc} ${protocol} ${placement.name} ${kind}`, status: out.status, emptyList: out.emptyList, leaked: leaks(out.text) });
        }
      }
    }
  }
  // Every cell is refused (400 contradiction, 403 pinned elsewhere, 404 not a member) or an empty list.
  const bad = cells.filter((c) => c.leaked.length || !([400, 403, 404].includes(c.status) || (c.status === 200 && c.emptyList)));
  expect(bad).toEqual([]);
  // The matrix has 5 credential kinds × (10 path routes × (3 REST + 5 gRPC placements) + 2 header routes × 2 protocols × 3 placements).
  expect(cells).toHaveLength(5 * (10 * 8 + 2 * 2 * 3));
  const tally = cells.reduce<Record<string, number>>((t, c) => ((t[c.status === 200 ? 'empty list' : c.status] = (t[c.status === 200 ? 'empty list' : c.status] ?? 0) + 1), t), {});
  console.log(`isolation matrix: ${cells.length} calls, no leak; outcomes ${JSON.stringify(tally)}`);

  // Nothing of the victim changed, and the attempts wrote no audit events there.
  const org = await rest(w.server.url, 'GET', `/api/user/organizations/${victim.id}`, { headers: session(vic) });
  expect(org.body.data).toMatchObject({ name: victim.name, role: 'root_admin' });
  const members = await rest(w.server.url, 'GET', `/api/user/organizations/${victim.id}/members`, { headers: session(vic) });
  expect(members.body.data.members.map((m: any) => [m.email, m.role])).toEqual([
    [vic.email, 'root_admin'],
    [mia.email, 'member'],
  ]);
  const invitations = await rest(w.server.url, 'GET', `/api/user/organizations/${victim.id}/invitations`, { headers: session(vic) });
  expect(invitations.body.data.invitations.map((i: any) => i.id)).toEqual([invitationId]);
  const clients = await rest(w.server.url, 'GET', '/v2/partner/organizations', { headers: session(vic, { orgid: victim.id }) });
  expect(clients.body.data.organizations.map((o: any) => o.id)).toEqual([victimClient]);
  expect(await auditTypes(w, vic, victim.id)).toEqual(auditBefore);
});

test('accepting a foreign invitation without its token is not found, on REST and gRPC', async () => {
  const r = await rest(w.server.url, 'POST', `/api/user/invitations/${invitationId}/accept`, { body: { token: 'guess' }, headers: session(eve) });
  expect(r.status).toBe(404);
  expect(leaks(JSON.stringify(r.body))).toEqual([]);
  const g = await callGrpc({ grpc: (c, _o, h) => c.acceptInvitation({ invitationId, token: 'guess' }, { headers: h }) } as Route, '', session(eve));
  expect(g.status).toBe(404);
});

test('ListMyOrganizations shows only the caller’s own organizations, whatever the tenant header says', async () => {
  for (const headers of [session(eve, { orgid: victim.id }), session(eve, { 'x-organization-id': victim.id })]) {
    const r = await rest(w.server.url, 'GET', '/api/user/organizations', { headers });
    expect(leaks(JSON.stringify(r.body))).toEqual([]);
    expect(r.body.data.organizations.map((o: any) => o.id).sort()).toEqual([eve.organizationId, ownPartner].sort());
  }
});
