// The dependency container: one place where the services are built and wired.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from './config.js';
import { type Database, openDatabase } from './db/orm.js';
import type { Logger } from './log.js';
import { AccountService } from './modules/account/account.service.js';
import { EmailVerification } from './modules/account/email-verification.js';
import { OneTimeTokens } from './modules/account/one-time-tokens.js';
import { OwnAccount } from './modules/account/own-account.js';
import { PasswordHasher } from './modules/account/password.js';
import { PasswordReset } from './modules/account/password-reset.js';
import { Profiles } from './modules/account/profiles.js';
import { ExpiryNotices } from './modules/apikey/expiry.js';
import { type ApiKeys, createApiKeys } from './modules/apikey/index.js';
import { AuditLog } from './modules/audit/audit.service.js';
import { SYSTEM } from './modules/audit/events.js';
import { InvalidationBus } from './modules/common/bus.js';
import { type Clock, systemClock } from './modules/common/clock.js';
import { RedisConnections } from './modules/common/redis.js';
import { deriveKey } from './modules/common/sealing.js';
import { OrgRefs, TokenExchange, TokenIntrospection } from './modules/exchange/index.js';
import { invitationEmail, Mailer } from './modules/mail/index.js';
import { createSecondFactors, type SecondFactors } from './modules/mfa/index.js';
import { PolicyGate } from './modules/mfa/policy-gate.js';
import { createOAuth, type OAuth } from './modules/oauth/index.js';
import { OrgService } from './modules/org/org.service.js';
import type { InvitationMail } from './modules/org/outbox.js';
import { OrgPolicies } from './modules/org/policy.js';
import { AuthThrottle, createRateLimiter, type RateLimiter } from './modules/ratelimit/index.js';
import { AccessTokenVerifier } from './modules/session/access-token-verifier.js';
import { Authenticator } from './modules/session/credentials.js';
import { MagicLinks } from './modules/session/magic-links.js';
import { SessionService } from './modules/session/session.service.js';
import { createSso, type Sso } from './modules/sso/index.js';
import { AccessTokens, loadOrCreateSecret, SigningKeys } from './modules/token/index.js';
import { createWebhooks, type Webhooks } from './modules/webhook/index.js';
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
  /** GetMe's view of a user, cached for the hot path. */
  profiles: Profiles;
  orgs: OrgService;
  sessions: SessionService;
  authenticator: Authenticator;
  mailer: Mailer;
  /** Shared counters (Redis with REDIS_URL, else in-process) for throttles and per-key limits. */
  rateLimiter: RateLimiter;
  /** Cache invalidations for every replica (Redis pub/sub with REDIS_URL), and the caches' trust bound. */
  bus: InvalidationBus;
  /** Every Redis connection (REDIS_URL), or undefined. */
  redis?: RedisConnections;
  signingKeys: SigningKeys;
  accessTokens: AccessTokens;
  emailVerification: EmailVerification;
  passwordReset: PasswordReset;
  magicLinks: MagicLinks;
  /** The console's profile page: rename, set or change the password. */
  ownAccount: OwnAccount;
  /** API keys: lifecycle, the hot-path verifier, leak reports. */
  apiKeys: ApiKeys;
  /** SignInWithApiKey: API key → short-lived JWT of a user (seed 004). */
  exchange: TokenExchange;
  /** IntrospectToken: what a JWT, API key or session token is. */
  introspection: TokenIntrospection;
  /** Second factors: TOTP, recovery codes, passkeys, sign-in challenges, step-up. */
  mfa: SecondFactors;
  /** Organization security policies, and their check at the door of every tenant-scoped call. */
  orgPolicies: OrgPolicies;
  policyGate: PolicyGate;
  /** The OAuth 2.1 / OpenID Connect provider, its Bearer verifier, clients and grants. */
  oauth: OAuth;
  /** Webhook endpoints, the outbox fed by the audit log, and this replica's delivery worker. */
  webhooks: Webhooks;
  /** 7-day / 1-day / expired notices of API keys (email + event), once across replicas. */
  expiryNotices: ExpiryNotices;
  /** Enterprise SSO: connections, domains, the OIDC relying party and SAML service provider. */
  sso: Sso;
  close(): Promise<void>;
}

export async function createDeps(config: Config, log: Logger, clock: Clock = systemClock): Promise<Deps> {
  // Redis first: an unreachable REDIS_URL stops start-up within REDIS_CONNECT_TIMEOUT_SECONDS, before the database opens.
  const redis = config.redisUrl
    ? await RedisConnections.open({ url: config.redisUrl, prefix: config.redisKeyPrefix, connectTimeoutMs: config.redisConnectTimeoutMs, commandTimeoutMs: config.redisCommandTimeoutMs }, log)
    : undefined;
  const bus = new InvalidationBus(clock, log, { trustWithoutBusMs: config.cacheTrustWithoutBusMs });
  try {
    if (redis) await bus.connect(redis);
  } catch (e) {
    await redis?.close();
    throw e;
  }
  const db = await openDatabase(config, log);
  const em = db.orm.em as EntityManager;
  const caches = { ...bus.caches, loadAlone: () => em.isInTransaction() };
  const passwords = new PasswordHasher(config.scrypt, config.scryptConcurrency, config.scryptQueueLimit, config.scryptProcess ? config.scryptProcessConcurrency : undefined);
  const audit = new AuditLog(em, clock);
  const secret = await loadOrCreateSecret(config.secret, config.dataDir, log);
  const publicUrl = () => config.publicUrl;
  const mailer = new Mailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, log, logBodies: config.mailLogBodies });
  const rateLimiter = createRateLimiter(redis, clock);
  const throttle = new AuthThrottle(rateLimiter, config.authThrottle);
  const invitationMailer = { sendInvitation: (m: InvitationMail) => mailer.send(invitationEmail(m.to, m.link, m.organizationName, m.inviterName)) };
  const orgPolicies = new OrgPolicies(em, { clock, audit, caches, invalidate: (inv) => bus.invalidate(inv) });
  bus.subscribe((inv) => orgPolicies.apply(inv));
  const orgs = new OrgService(em, {
    clock,
    audit,
    mailer: invitationMailer,
    publicUrl: () => config.publicUrl,
    caches,
    checkInvitee: (organizationId, email) => orgPolicies.checkInvitee(organizationId, email),
  });
  // Role changes, removals and deletions go to every replica; each drops roles, keys, profiles it holds.
  orgs.onInvalidate((inv) => bus.invalidate(inv));
  bus.subscribe((inv) => orgs.roles.apply(inv));
  const oneTimeTokens = new OneTimeTokens(em, clock, deriveKey(secret, 'magic-codes'));
  const emailVerification = new EmailVerification(em, oneTimeTokens, mailer, publicUrl, clock, throttle);
  const accounts = new AccountService(em, passwords, orgs, { verification: emailVerification, throttle, clock, audit });
  const profiles = new Profiles(accounts, orgs, em, caches, bus);
  const signingKeys = new SigningKeys(em, deriveKey(secret, 'signing-keys'), clock, log, {
    rotationDays: config.signingKeyRotationDays,
    maxTokenTtlSeconds: Math.max(config.accessTokenTtlSeconds, config.exchangeTokenTtlSeconds),
  });
  await signingKeys.start();
  const accessTokens = new AccessTokens(signingKeys, clock, publicUrl, config.accessTokenTtlSeconds);
  const sessions = new SessionService(em, {
    accounts,
    passwords,
    clock,
    tokens: accessTokens,
    throttle,
    audit,
    sessionTtlSeconds: config.sessionTtlSeconds,
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
    refreshReuseGraceSeconds: config.refreshReuseGraceSeconds,
    requireEmailVerification: config.requireEmailVerification,
    caches,
    bus,
  });
  // First proof of an address on an account never verified: end everything its sign-up started (pre-registration takeover).
  const endCredentials = async (userId: string) => {
    await sessions.revokeAllOf(userId);
    await apiKeys.lifecycle.revokeAllOfUser(userId, SYSTEM);
  };
  const passwordReset = new PasswordReset({ em, tokens: oneTimeTokens, passwords, mailer, publicUrl, clock, throttle, endSessions: (userId) => sessions.revokeAllOf(userId), endCredentials });
  const ownAccount = new OwnAccount({ em, passwords, throttle, endOtherSessions: (userId, keep) => sessions.revokeAllOf(userId, keep) });
  const magicLinks = new MagicLinks({ em, accounts, tokens: oneTimeTokens, sessions, mailer, publicUrl, throttle, endCredentials });
  const authenticator = new Authenticator(sessions);
  const oauth = createOAuth({
    em,
    keys: signingKeys,
    profiles,
    orgs,
    audit,
    clock,
    log,
    caches,
    bus,
    issuer: publicUrl,
    cookieKey: deriveKey(secret, 'oauth-cookies'),
    ...config.oauth,
    downstream: config.gateway.policy,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
  });
  authenticator.register(oauth.verifier); // before the sign-in JWT verifier: it claims JWTs that name a client_id
  authenticator.register(new AccessTokenVerifier(accessTokens, sessions));
  const apiKeys = await createApiKeys({
    em,
    forkEm: () => db.orm.em.fork() as EntityManager,
    audit,
    orgs,
    limiter: rateLimiter,
    mail: mailer,
    clock,
    log,
    prefix: config.apiKeyPrefix,
    orgTypes: config.apiKeyOrgTypes,
    bus,
    caches,
    secretScanning: config.secretScanningPublicKeys,
    maxBodyBytes: config.maxBodyBytes,
    keyPolicy: orgPolicies,
  });
  authenticator.register(apiKeys.verifier);
  const orgRefs = new OrgRefs(em, caches);
  bus.subscribe((inv) => ('organizationId' in inv || 'all' in inv ? orgRefs.forget() : undefined));
  const exchange = new TokenExchange({
    em,
    keys: apiKeys.verifier,
    reach: apiKeys.reach,
    orgs,
    refs: orgRefs,
    limiter: rateLimiter,
    tokens: accessTokens,
    isActiveUser: (userId) =>
      profiles.get(userId).then(
        (p) => p.user.isActive,
        (e) => (e?.code === 'NOT_FOUND' ? false : Promise.reject(e)),
      ),
    audit,
    ttlSeconds: config.exchangeTokenTtlSeconds,
    perMinute: config.exchangeRateLimitPerMinute,
  });
  const mfa = createSecondFactors({
    em,
    clock,
    audit,
    throttle,
    accounts,
    sessions,
    caches,
    bus,
    keys: { seal: deriveKey(secret, 'totp-secrets'), recovery: deriveKey(secret, 'recovery-codes') },
    publicUrl,
  });
  const policyGate = new PolicyGate(orgPolicies, mfa, clock);
  const forkEm = () => db.orm.em.fork() as EntityManager;
  const webhooks = createWebhooks({ em, forkEm, clock, audit, sealKey: deriveKey(secret, 'webhook-secrets'), log, settings: config.webhooks });
  const expiryNotices = new ExpiryNotices(forkEm, clock, audit, mailer, log, { intervalMs: config.apiKeyExpiryCheckIntervalMs });
  expiryNotices.start();
  const sso = createSso({ em, clock, audit, accounts, sessions, orgs, secret, publicUrl, endCredentials, caches, bus, ...config.sso });
  const introspection = new TokenIntrospection({ keys: apiKeys.verifier, tokens: accessTokens, sessions, orgs, profiles, issuer: publicUrl, oauth: oauth.verifier });
  return {
    config,
    log,
    clock,
    db,
    audit,
    secureCookies: !isLoopbackHttp(config.publicUrl),
    accounts,
    profiles,
    orgs,
    sessions,
    authenticator,
    mailer,
    rateLimiter,
    bus,
    redis,
    signingKeys,
    accessTokens,
    emailVerification,
    passwordReset,
    magicLinks,
    ownAccount,
    apiKeys,
    exchange,
    introspection,
    mfa,
    orgPolicies,
    policyGate,
    oauth,
    webhooks,
    expiryNotices,
    sso,
    async close() {
      await expiryNotices.close();
      await webhooks.close();
      signingKeys.stop();
      oauth.close();
      await apiKeys.close();
      passwords.close();
      await mailer.close();
      await rateLimiter.close();
      await bus.close();
      await redis?.close();
      await db.close();
    },
  };
}
