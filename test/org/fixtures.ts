// Shared set-up for the organization tests: a server delivering email to a real SMTP listener,
// users joined through the real invitation flow, and constructed credential principals.
import { type Client, createClient } from '@connectrpc/connect';
import { OrgService } from '../../gen/latchkey/v1/org_pb.js';
import type { Principal } from '../../src/modules/common/principal.js';
import { expandScopes } from '../../src/modules/org/roles.js';
import { signUpAndIn, type TestUser, uniqueEmail } from '../helpers/accounts.js';
import { type Protocol, rest, transport } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { type ReceivedMail, type SmtpSink, startSmtp, tokenOf } from '../helpers/smtp.js';

export interface World {
  server: TestServer;
  smtp: SmtpSink;
  stop(): Promise<void>;
}

export async function startWorld(env: Record<string, string> = {}): Promise<World> {
  const smtp = await startSmtp();
  // Many sign-ups from one address in a test file: lift the per-IP auth throttle.
  const server = await startServer({ env: { SMTP_URL: smtp.url, AUTH_IP_LIMIT: '100000', AUTH_EMAIL_LIMIT: '100000', ...env } });
  return {
    server,
    smtp,
    async stop() {
      await server.stop();
      await smtp.stop();
    },
  };
}

export const session = (u: { cookie: string }, extra: Record<string, string> = {}) => ({ cookie: u.cookie, ...extra });

export const orgClient = (url: string, protocol: Protocol): Client<typeof OrgService> => createClient(OrgService, transport(url, protocol));

export async function newUser(w: World, name = 'User'): Promise<TestUser> {
  return signUpAndIn(w.server.url, name, uniqueEmail(name.toLowerCase().replace(/\W+/g, '')));
}

export async function createOrg(w: World, owner: TestUser, body: { name: string; type?: string; slug?: string }): Promise<{ id: string; name: string; slug: string; type: string }> {
  const r = await rest(w.server.url, 'POST', '/api/user/organizations', { body, headers: session(owner) });
  if (r.status !== 200) throw new Error(`create org failed: ${JSON.stringify(r.body)}`);
  return r.body.data;
}

/** Invite over REST and read the invitation link from the email received over SMTP. */
export async function invite(w: World, admin: TestUser, organizationId: string, email: string, role = 'member'): Promise<{ invitationId: string; token: string }> {
  const r = await rest(w.server.url, 'POST', `/api/user/organizations/${organizationId}/invitations`, { body: { email, role }, headers: session(admin) });
  if (r.status !== 200) throw new Error(`invite failed: ${JSON.stringify(r.body)}`);
  const mail = await invitationMail(w, email);
  return { invitationId: r.body.data.invitation.id, token: tokenOf(mail) };
}

/** The next invitation email to `email` (sign-up also sends a verification email: skipped). */
export async function invitationMail(w: World, email: string): Promise<ReceivedMail> {
  for (;;) {
    const mail = await w.smtp.nextMail(email);
    if (/invited/i.test(mail.subject)) return mail;
  }
}

/** Bring `user` into the organization with `role` through the invitation flow (root_admin: invite admin, then promote). */
export async function join(w: World, admin: TestUser, organizationId: string, user: TestUser, role: 'root_admin' | 'admin' | 'member'): Promise<void> {
  const { invitationId, token } = await invite(w, admin, organizationId, user.email, role === 'member' ? 'member' : 'admin');
  const r = await rest(w.server.url, 'POST', `/api/user/invitations/${invitationId}/accept`, { body: { token }, headers: session(user) });
  if (r.status !== 200) throw new Error(`accept failed: ${JSON.stringify(r.body)}`);
  if (role === 'root_admin') {
    const p = await rest(w.server.url, 'PATCH', `/api/user/organizations/${organizationId}/members/${user.userId}`, { body: { role }, headers: session(admin) });
    if (p.status !== 200) throw new Error(`promote failed: ${JSON.stringify(p.body)}`);
  }
}

/**
 * Credentials whose principal the test chooses (API keys and exchanged tokens are built by other
 * modules; this registers a verifier with the server's real Authenticator for the shapes they produce).
 */
export function principals(w: World): (p: Principal) => string {
  const byToken = new Map<string, Principal>();
  let n = 0;
  w.server.deps.authenticator.register({
    recognises: (s) => s.startsWith('testcred_'),
    verify: async (s) => {
      const p = byToken.get(s);
      if (!p) throw new Error('unknown test credential');
      return p;
    },
  });
  return (p) => {
    const token = `testcred_${++n}`;
    // Real verifiers hand out expanded scopes (no read / write shorthands); so does this one.
    byToken.set(token, p.kind === 'session' || !p.scopes ? p : { ...p, scopes: expandScopes(p.scopes) });
    return token;
  };
}

export async function auditTypes(w: World, admin: TestUser, organizationId: string): Promise<string[]> {
  const types: string[] = [];
  let pageToken = '';
  do {
    const r = await rest(w.server.url, 'GET', `/api/user/organizations/${organizationId}/audit-events?pageSize=200&pageToken=${pageToken}`, { headers: session(admin) });
    if (r.status !== 200) throw new Error(`audit list failed: ${JSON.stringify(r.body)}`);
    types.push(...r.body.data.auditEvents.map((e: { type: string }) => e.type));
    pageToken = r.body.data.nextPageToken;
  } while (pageToken);
  return types;
}
