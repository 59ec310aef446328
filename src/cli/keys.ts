// bootstrap, mint-key, revoke-key, rotate-signing-key: each one call of the service the server's
// RPCs call (accounts, organizations, the API-key lifecycle, the signing keys), as an operator.

import { normalizeEmail } from '../modules/account/account.service.js';
import { User } from '../modules/account/user.entity.js';
import { ApiKey } from '../modules/apikey/api-key.entity.js';
import type { KeyCaller } from '../modules/apikey/api-key.service.js';
import { Organization } from '../modules/org/organization.entity.js';
import { CliError, findOrganization, list, OPERATOR, parseDuration, print, rootAdminOf, withDeps } from './context.js';

/** The operator acting as a user (the key's creator), with that user's rights and nothing more. */
const as = (userId: string, organizationId?: string): KeyCaller => ({ principal: { kind: 'session', userId, sessionId: '' }, actor: OPERATOR, tenantHeader: organizationId });

const keyView = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  start: k.start,
  organizationId: k.organizationId,
  createdByUserId: k.createdByUserId,
  scopes: k.scopes,
  expiresAt: k.expiresAt?.toISOString() ?? null,
});

async function readStdin(): Promise<string> {
  let s = '';
  for await (const chunk of process.stdin) s += chunk;
  return s.replace(/\r?\n$/, '');
}

export interface BootstrapOptions {
  email: string;
  name: string;
  org: string;
  slug?: string;
  type: string;
  scopes?: string;
  passwordStdin?: boolean;
}

/** First user, their organization (root_admin) and an admin key, on a database with no users or organizations. */
export function bootstrap(o: BootstrapOptions): Promise<void> {
  return withDeps(async (deps) => {
    const em = deps.db.orm.em.fork();
    const [users, orgs] = [await em.count(User, {}), await em.count(Organization, {})];
    if (users || orgs) throw new CliError(`the database is not empty (${users} user(s), ${orgs} organization(s)): bootstrap only runs once, on an empty database`);
    const email = normalizeEmail('email', o.email);
    const password = o.passwordStdin ? await readStdin() : undefined;
    // The operator vouches for the address: a verified account, as a redeemed magic link makes it.
    const { user } = await deps.accounts.provisionVerified(email);
    await deps.ownAccount.rename(user.id, o.name);
    if (password !== undefined) await deps.ownAccount.setPassword(user.id, '', password, undefined, '');
    const org = await deps.orgs.create(user.id, { name: o.org, slug: o.slug, type: o.type }, OPERATOR);
    const { key, secret } = await deps.apiKeys.lifecycle.create(as(user.id, org.id), {
      name: 'bootstrap admin key',
      scopes: o.scopes ? list(o.scopes) : ['read', 'write'],
      expiresIn: 0,
      clientOrganizationId: '',
    });
    print({ user: { id: user.id, email: user.email, name: o.name }, organization: { id: org.id, name: org.name, slug: org.slug, type: org.type, role: 'root_admin' }, apiKey: keyView(key), secret });
    console.error('The secret is shown once and is not stored: keep it now.');
  });
}

export interface MintOptions {
  org: string;
  name: string;
  scopes?: string;
  expiresIn: string;
  as?: string;
}

export function mintKey(o: MintOptions): Promise<void> {
  const expiresIn = parseDuration(o.expiresIn);
  return withDeps(async (deps) => {
    const org = await findOrganization(deps, o.org);
    let userId: string;
    if (o.as) {
      const user = await deps.accounts.findByEmail(normalizeEmail('as', o.as));
      if (!user) throw new CliError(`no user with email ${o.as}`);
      userId = user.id;
    } else userId = await rootAdminOf(deps, org.id);
    const { key, secret } = await deps.apiKeys.lifecycle.create(as(userId, org.id), { name: o.name, scopes: list(o.scopes), expiresIn, clientOrganizationId: '' });
    print({ ...keyView(key), secret });
    console.error('The secret is shown once and is not stored: keep it now.');
  });
}

export function revokeKey(keyId: string): Promise<void> {
  return withDeps(async (deps) => {
    const k = await deps.db.orm.em.fork().findOne(ApiKey, { id: keyId });
    if (!k) throw new CliError(`no API key ${keyId}`);
    // As the key's creator when still a member (anyone may revoke their own key), else the organization's root_admin.
    const creatorStays = !k.organizationId || (await deps.orgs.roleOf(k.createdByUserId, k.organizationId));
    const caller = creatorStays ? k.createdByUserId : await rootAdminOf(deps, k.organizationId!);
    const revoked = await deps.apiKeys.lifecycle.revoke(as(caller), keyId);
    // With REDIS_URL the running replicas drop it from their caches now (the bus publishes; closing waits for it).
    print({ id: revoked.id, revokedAt: revoked.revokedAt?.toISOString() ?? null });
  });
}

export function rotateSigningKey(): Promise<void> {
  return withDeps(async (deps) => {
    const before = new Set(deps.signingKeys.jwks().map((k) => k.kid));
    await deps.signingKeys.rotate(true);
    const [current, ...previous] = deps.signingKeys.jwks();
    print({ kid: current.kid, stillVerifying: previous.map((k) => k.kid).filter((kid) => before.has(kid)) });
  });
}
