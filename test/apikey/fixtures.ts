// Set-up shared by the API-key tests: a server delivering mail to a real SMTP listener, users, orgs
// joined through the real invitation flow, and keys created through the documented REST paths.

import { RequestContext } from '@mikro-orm/core';
import { PASSWORD, signUpAndIn, type TestUser, uniqueEmail } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { type StartOptions, startServer, type TestServer } from '../helpers/server.js';
import { type SmtpSink, startSmtp, tokenOf } from '../helpers/smtp.js';

export interface World {
  server: TestServer;
  smtp: SmtpSink;
  url: string;
  stop(): Promise<void>;
}

export async function startWorld(env: Record<string, string> = {}, opts: Omit<StartOptions, 'env'> = {}): Promise<World> {
  const smtp = await startSmtp();
  const server = await startServer({ ...opts, env: { SMTP_URL: smtp.url, AUTH_IP_LIMIT: '100000', AUTH_EMAIL_LIMIT: '100000', ...env } });
  return {
    server,
    smtp,
    get url() {
      return server.url;
    },
    async stop() {
      await server.stop();
      await smtp.stop();
    },
  };
}

export const cookie = (u: { cookie: string }, extra: Record<string, string> = {}) => ({ cookie: u.cookie, ...extra });
export const xApiKey = (key: string, extra: Record<string, string> = {}) => ({ 'x-api-key': key, ...extra });

export async function newUser(w: World, name = 'User'): Promise<TestUser> {
  return signUpAndIn(w.url, name, uniqueEmail(name.toLowerCase().replace(/\W+/g, '')));
}

/** Sign in again and return the access token (a JWT) of the response. */
export async function accessTokenOf(w: World, u: TestUser): Promise<string> {
  const r = await rest(w.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } });
  if (r.status !== 200 || !r.body.data.accessToken) throw new Error(`sign-in failed: ${JSON.stringify(r.body)}`);
  return r.body.data.accessToken;
}

export async function createOrg(w: World, owner: TestUser, body: { name: string; type?: string }): Promise<string> {
  const r = await rest(w.url, 'POST', '/api/user/organizations', { body, headers: cookie(owner) });
  if (r.status !== 200) throw new Error(`create org failed: ${JSON.stringify(r.body)}`);
  return r.body.data.organization?.id ?? r.body.data.id;
}

/** Bring `user` into the organization as member or admin through the invitation email. */
export async function join(w: World, admin: TestUser, organizationId: string, user: TestUser, role: 'admin' | 'member'): Promise<void> {
  const r = await rest(w.url, 'POST', `/api/user/organizations/${organizationId}/invitations`, { body: { email: user.email, role }, headers: cookie(admin) });
  if (r.status !== 200) throw new Error(`invite failed: ${JSON.stringify(r.body)}`);
  let mail;
  do mail = await w.smtp.nextMail(user.email);
  while (!/invited/i.test(mail.subject));
  const a = await rest(w.url, 'POST', `/api/user/invitations/${r.body.data.invitation.id}/accept`, { body: { token: tokenOf(mail) }, headers: cookie(user) });
  if (a.status !== 200) throw new Error(`accept failed: ${JSON.stringify(a.body)}`);
}

export async function setRole(w: World, admin: TestUser, organizationId: string, userId: string, role: string): Promise<void> {
  const r = await rest(w.url, 'PATCH', `/api/user/organizations/${organizationId}/members/${userId}`, { body: { role }, headers: cookie(admin) });
  if (r.status !== 200) throw new Error(`role change failed: ${JSON.stringify(r.body)}`);
}

/** POST /api/auth/api-key/create with the given headers; the created key's data. */
export async function createKey(w: World, headers: Record<string, string>, body: Record<string, unknown> = {}): Promise<{ id: string; key: string; [k: string]: any }> {
  const r = await rest(w.url, 'POST', '/api/auth/api-key/create', { body: { name: 'test key', ...body }, headers });
  if (r.status !== 200) throw new Error(`create key failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.data;
}

/**
 * SQL statements the server's request handlers send while `fn` runs (every query goes through the
 * logger's logQuery; a handler's queries run in its MikroORM request context, and what a handler
 * leaves to run later inherits that context). The replica's own timers (webhook deliveries, expiry
 * notices, the usage write-behind, the signing-key reload) run outside any request context and are
 * not the request path, so they are not counted however long `fn` takes. The usage write-behind is
 * also stopped meanwhile (what it holds written first) and restarts afterwards, so its write lands
 * after the count, where the tests read it back.
 */
export async function countQueries<T>(w: World, fn: () => Promise<T>): Promise<{ count: number; sql: string[]; result: T }> {
  const usage = w.server.deps.apiKeys.usage;
  await usage.close();
  try {
    return await countRequestSql(w, fn);
  } finally {
    usage.start();
  }
}

async function countRequestSql<T>(w: World, fn: () => Promise<T>): Promise<{ count: number; sql: string[]; result: T }> {
  const logger = w.server.deps.db.orm.config.getLogger() as { logQuery(ctx: { query: string }): void };
  const sql: string[] = [];
  const original = logger.logQuery;
  logger.logQuery = function (ctx) {
    if (RequestContext.currentRequestContext()) sql.push(ctx.query);
    return original.call(this, ctx);
  };
  try {
    const result = await fn();
    return { count: sql.length, sql, result };
  } finally {
    logger.logQuery = original;
  }
}
