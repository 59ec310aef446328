// The escalation suite's world: one organization with two users of every role, each actor holding
// every kind of credential, and helpers that make fresh targets (keys, members, organizations) for
// the cases that consume them. Everything goes through the public REST API, as an attacker would.

import { accessTokenOf, cookie, createKey, createOrg, join, newUser, setRole, startWorld, type World } from '../apikey/fixtures.js';
import type { TestUser } from '../helpers/accounts.js';
import { type RestResponse, rest } from '../helpers/clients.js';
import { signInWithApiKey } from '../token/fixtures.js';

export type Role = 'root_admin' | 'admin' | 'member';
export type CredKind = 'session' | 'jwt' | 'orgKey' | 'pat' | 'exchanged';
export type Level = 'self' | 'peer' | 'above' | 'below';

export const ROLES: Role[] = ['root_admin', 'admin', 'member'];
export const CREDS: CredKind[] = ['session', 'jwt', 'orgKey', 'pat', 'exchanged'];
export const LEVELS: Level[] = ['self', 'peer', 'above', 'below'];
/** The roles, and someone of none of them: a user of another organization. */
export type Who = Role | 'outsider';
export const WHO: Who[] = [...ROLES, 'outsider'];
const RANK: Record<Role, number> = { member: 0, admin: 1, root_admin: 2 };

/** The role at `level` relative to `role`; undefined where none exists (nothing above root_admin). */
export function roleAt(role: Role, level: Level): Role | undefined {
  const r = RANK[role] + (level === 'above' ? 1 : level === 'below' ? -1 : 0);
  return ROLES.find((x) => RANK[x] === r);
}

/** The most a key of this role may hold: admins get impersonate and introspect too. */
const maxScopes = (role: Role) => (role === 'member' ? ['read', 'write'] : ['read', 'write', 'impersonate', 'introspect']);

export interface Actor extends TestUser {
  role: Role;
}

export interface Escalation {
  w: World;
  url: string;
  org: string;
  /** Two users of each role in `org` (index 0 acts, index 1 is the peer). */
  users: Record<Role, [Actor, Actor]>;
  /** Credential headers of the acting user of each role, in `org`; the outsider's are of their own organization. */
  creds: Record<Who, Record<CredKind, Record<string, string>>>;
  /** A user who is root_admin of their own organization and not in `org`. */
  outsider: Actor;
}

const auth = (kind: CredKind, secret: string): Record<string, string> =>
  kind === 'session' ? { cookie: secret } : kind === 'orgKey' || kind === 'pat' ? { 'x-api-key': secret } : { authorization: `Bearer ${secret}` };

/** A credential of `kind` for `u` acting in `organizationId` (keys are of that organization). */
export async function credential(w: World, u: TestUser, role: Role, kind: CredKind, organizationId: string): Promise<Record<string, string>> {
  switch (kind) {
    case 'session':
      return auth(kind, u.cookie);
    case 'jwt':
      return auth(kind, await accessTokenOf(w, u));
    case 'pat':
      return auth(kind, (await createKey(w, cookie(u), { name: 'pat', scopes: maxScopes(role) })).key);
    case 'orgKey':
      return auth(kind, (await createKey(w, cookie(u, { orgid: organizationId }), { name: 'org key', scopes: maxScopes(role) })).key);
    case 'exchanged': {
      const k = await createKey(w, cookie(u, { orgid: organizationId }), { name: 'exchange key', scopes: maxScopes(role) });
      const r = await signInWithApiKey(w.url, organizationId, { key: k.key, keyId: k.id, userId: u.userId });
      if (r.status !== 200) throw new Error(`exchange failed: ${JSON.stringify(r.body)}`);
      return auth(kind, r.body.id_token);
    }
  }
}

/** A new user holding `role` in `organizationId`, brought in by `root` through the real invitation flow. */
export async function member(w: World, root: TestUser, organizationId: string, role: Role, name: string = role): Promise<Actor> {
  const u = await newUser(w, name.replace(/_/g, ' '));
  await join(w, root, organizationId, u, role === 'member' ? 'member' : 'admin');
  if (role === 'root_admin') await setRole(w, root, organizationId, u.userId, 'root_admin');
  return { ...u, role };
}

export async function buildWorld(env: Record<string, string> = {}): Promise<Escalation> {
  const w = await startWorld(env);
  const r0 = await newUser(w, 'Root');
  const org = r0.organizationId;
  const rest1 = await Promise.all([
    member(w, r0, org, 'root_admin', 'Root Two'),
    member(w, r0, org, 'admin', 'Admin'),
    member(w, r0, org, 'admin', 'Admin Two'),
    member(w, r0, org, 'member', 'Member'),
    member(w, r0, org, 'member', 'Member Two'),
  ]);
  const [r1, a0, a1, m0, m1] = rest1;
  const outsider: Actor = { ...(await newUser(w, 'Outsider')), role: 'root_admin' };
  const users: Escalation['users'] = { root_admin: [{ ...r0, role: 'root_admin' }, r1], admin: [a0, a1], member: [m0, m1] };
  const creds = {} as Escalation['creds'];
  for (const role of ROLES) {
    const u = users[role][0];
    const entries = await Promise.all(CREDS.map(async (kind) => [kind, await credential(w, u, role, kind, org)] as const));
    creds[role] = Object.fromEntries(entries) as Record<CredKind, Record<string, string>>;
  }
  const theirs = await Promise.all(CREDS.map(async (kind) => [kind, await credential(w, outsider, 'root_admin', kind, outsider.organizationId)] as const));
  creds.outsider = Object.fromEntries(theirs) as Record<CredKind, Record<string, string>>;
  return { w, url: w.url, org, users, creds, outsider };
}

/** The user at `level` from the acting user of `role` (self, the peer, or the first user of the role above / below). */
export function userAt(e: Escalation, role: Role, level: Level): Actor | undefined {
  if (level === 'self') return e.users[role][0];
  if (level === 'peer') return e.users[role][1];
  const r = roleAt(role, level);
  return r && e.users[r][0];
}

/** A fresh key of `owner` in the organization (created with the owner's own session). */
export const keyOf = (e: Escalation, owner: Actor, body: Record<string, unknown> = {}) => createKey(e.w, cookie(owner, { orgid: e.org }), { name: `key of ${owner.role}`, scopes: ['read'], ...body });

export const call = (e: Escalation, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<RestResponse> =>
  rest(e.url, method, path, { headers, ...(body === undefined ? {} : { body }) });

export { cookie, createOrg, join, newUser, signInWithApiKey };
