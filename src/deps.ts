// The dependency container: one place where the services are built and wired.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/orm.js';
import type { Logger } from './log.js';
import { AccountService } from './modules/account/account.service.js';
import { PasswordHasher } from './modules/account/password.js';
import { AuditLog } from './modules/audit/audit.service.js';
import { systemClock, type Clock } from './modules/common/clock.js';
import { OrgService } from './modules/org/org.service.js';
import type { InvitationMail } from './modules/org/outbox.js';
import { Authenticator } from './modules/session/credentials.js';
import { SessionService } from './modules/session/session.service.js';
import { isLoopbackHttp } from './transport/cookies.js';

export interface Deps {
  config: Config;
  log: Logger;
  clock: Clock;
  db: Database;
  secureCookies: boolean;
  /** Security events; `audit.record(em, …)` appends in the caller's unit of work. */
  audit: AuditLog;
  accounts: AccountService;
  orgs: OrgService;
  sessions: SessionService;
  authenticator: Authenticator;
  close(): Promise<void>;
}

export async function createDeps(config: Config, log: Logger, clock: Clock = systemClock): Promise<Deps> {
  const db = await openDatabase(config, log);
  const em = db.orm.em as EntityManager;
  const passwords = new PasswordHasher(config.scrypt, config.scryptConcurrency, config.scryptQueueLimit);
  const audit = new AuditLog(em, clock);
  // Until the mail module is wired, invitation links are logged (local development only).
  const invitationMailer = { sendInvitation: (m: InvitationMail) => log.info({ to: m.to, link: m.link }, `email to ${m.to}: invitation to ${m.organizationName}`) };
  const orgs = new OrgService(em, { clock, audit, mailer: invitationMailer, publicUrl: () => config.publicUrl });
  const accounts = new AccountService(em, passwords, orgs);
  const sessions = new SessionService(em, accounts, passwords, clock, config.sessionTtlSeconds);
  const authenticator = new Authenticator(sessions);
  return {
    config,
    log,
    clock,
    db,
    audit,
    secureCookies: !isLoopbackHttp(config.publicUrl),
    accounts,
    orgs,
    sessions,
    authenticator,
    close: () => db.close(),
  };
}
