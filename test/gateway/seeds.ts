// The seeds' accounts and keys, made through Latchkey's documented REST calls: a signed-up user
// (root_admin of their organization), a second organization, and the keys the seed examples use.
import { cookie, createKey, createOrg, newUser, type World } from '../apikey/fixtures.js';
import type { TestUser } from '../helpers/accounts.js';

export interface SeedKeys {
  user: TestUser;
  orgId: string;
  otherOrgId: string;
  /** Seed 001: a personal access token with projects scopes. */
  pat: { id: string; key: string };
  /** Seed 001: pinned to the user's organization (metadata.organizationId). */
  pinned: { id: string; key: string };
  /** Valid, but without projects:read. */
  noProjects: { id: string; key: string };
  /** Seed 000: a key of the organization (created with orgid). */
  orgKey: { id: string; key: string };
  /** Seed 000: rateLimit.requestsPerMinute 2. */
  limited: { id: string; key: string };
  /** Seed 002: sent as Authorization: Bearer at_…. */
  bearer: { id: string; key: string };
}

export async function seedKeys(w: World): Promise<SeedKeys> {
  const user = await newUser(w, 'Seed');
  const orgId = user.organizationId;
  const otherOrgId = await createOrg(w, user, { name: 'Other' });
  const scopes = ['user:read', 'projects:read', 'projects:write'];
  const [pat, pinned, noProjects, orgKey, limited, bearer] = await Promise.all([
    createKey(w, cookie(user), { name: 'CI deploy bot', expiresIn: 2592000, scopes }),
    createKey(w, cookie(user), { name: 'pinned', scopes, metadata: { organizationId: orgId } }),
    createKey(w, cookie(user), { name: 'no projects', scopes: ['user:read'] }),
    createKey(w, cookie(user, { orgid: orgId }), { name: 'build pipeline', scopes: ['read', 'write'], rateLimit: { requestsPerMinute: 60 } }),
    createKey(w, cookie(user, { orgid: orgId }), { name: 'limited', scopes: ['read'], rateLimit: { requestsPerMinute: 2 } }),
    createKey(w, cookie(user, { orgid: orgId }), { name: 'keymint' }),
  ]);
  return { user, orgId, otherOrgId, pat, pinned, noProjects, orgKey, limited, bearer };
}
