// The end of every SSO sign-in: the IdP may speak only for its connection's verified domains; the
// person gets an account (verified email) on first sign-in and joins the organization with the
// connection's default role (just-in-time provisioning); then a session starts as for any sign-in.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AccountService } from '../account/account.service.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { OrgService } from '../org/org.service.js';
import type { Role } from '../org/roles.js';
import type { ClientInfo, SessionService, SignedIn } from '../session/session.service.js';
import type { SsoConnections } from './connections.js';
import { type IdpIdentity, refused } from './oidc.js';
import type { SsoConnection } from './sso.entity.js';

export interface SsoSignInDeps {
  em: EntityManager;
  accounts: AccountService;
  sessions: SessionService;
  orgs: OrgService;
  audit: AuditLog;
  connections: SsoConnections;
  /** End every session, refresh token and key of a user (an unverified account claimed by proof of its address). */
  endCredentials: (userId: string) => Promise<void>;
}

export class SsoSignIn {
  constructor(private readonly d: SsoSignInDeps) {}

  async complete(c: SsoConnection, who: IdpIdentity, client: ClientInfo): Promise<SignedIn> {
    // An IdP speaks for its own verified domains only: never for an address elsewhere (account takeover).
    if (!(await this.d.connections.vouchesFor(c, who.email))) throw refused(`${who.email} is not at a verified domain of this connection`);
    const { user, claimed } = await this.d.accounts.provisionVerified(who.email);
    if (!user.isActive) throw refused('this account is suspended');
    if (claimed) await this.d.endCredentials(user.id);
    const em = this.d.em;
    if (!user.fullName && who.name) user.fullName = who.name;
    const actor = { actorType: 'user' as const, actorId: user.id, ip: client.ip, userAgent: client.userAgent };
    // Just-in-time provisioning: a member with the connection's default role on first sign-in.
    const joined = await em.transactional((tx) =>
      this.d.orgs.members.admit(tx, { organizationId: c.organizationId, userId: user.id, role: c.defaultRole as Role, actor, via: 'sso', metadata: { connectionId: c.id } }),
    );
    if (joined) this.d.orgs.roles.invalidate({ userId: user.id });
    this.d.audit.record(em, {
      ...actor,
      organizationId: c.organizationId,
      type: 'sso.signed_in',
      targetType: 'sso_connection',
      targetId: c.id,
      metadata: { kind: c.kind, subject: who.subject.slice(0, 256) },
    });
    return this.d.sessions.start(user, client, 'sso');
  }
}
