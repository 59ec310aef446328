// What every CLI command shares: the server's configuration (loadConfig) and its services
// (createDeps), opened for one command and closed after it, and the operator as an audit actor.

import { RequestContext } from '@mikro-orm/core';
import { type Config, ConfigError, loadConfig } from '../config.js';
import { createDeps, type Deps } from '../deps.js';
import { createLogger } from '../log.js';
import type { Actor } from '../modules/audit/events.js';
import { DomainError } from '../modules/common/errors.js';
import { Membership } from '../modules/org/membership.entity.js';
import { Organization } from '../modules/org/organization.entity.js';

/** Audit events of CLI actions: a system actor, told apart by its user agent. */
export const OPERATOR: Actor = { actorType: 'system', actorId: '', ip: '', userAgent: 'latchkey-cli' };

/** A mistake the operator can fix: printed as one line, exit code 1. */
export class CliError extends Error {}

export function config(overrides: Record<string, string> = {}): Config {
  try {
    return loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...overrides });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`latchkey: invalid configuration: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
}

/** Runs with the server's services in one ORM context, then closes everything. */
export async function withDeps<T>(fn: (deps: Deps) => Promise<T>): Promise<T> {
  const c = config();
  const deps = await createDeps(c, createLogger(c.logLevel));
  try {
    return await RequestContext.create(deps.db.orm.em, () => fn(deps));
  } catch (e) {
    // The services' own refusals (validation, not found, conflict) are the operator's to fix.
    if (e instanceof DomainError) throw new CliError(e.meta.field && !e.message.includes(e.meta.field) ? `${e.meta.field}: ${e.message}` : e.message);
    throw e;
  } finally {
    await deps.close();
  }
}

/** An organization by id or slug. */
export async function findOrganization(deps: Deps, ref: string): Promise<Organization> {
  const org = await deps.db.orm.em.fork().findOne(Organization, { $or: [{ id: ref }, { slug: ref }] });
  if (!org) throw new CliError(`no organization with id or slug ${ref}`);
  return org;
}

/** The organization's first root_admin: whom a key minted by the operator belongs to by default. */
export async function rootAdminOf(deps: Deps, organizationId: string): Promise<string> {
  const m = await deps.db.orm.em.fork().findOne(Membership, { organizationId, role: 'root_admin' }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  if (!m) throw new CliError(`organization ${organizationId} has no root_admin`);
  return m.userId;
}

/** "90d", "12h", "30m", "45s" or plain seconds; "never" or 0 = no expiry. */
export function parseDuration(s: string): number {
  if (s === 'never') return 0;
  const m = /^(\d+)([smhd]?)$/.exec(s.trim());
  if (!m) throw new CliError(`--expires-in: "${s}" is not a duration (90d, 12h, 30m, 3600, never)`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

export function parseTime(flag: string, s: string | undefined): Date | undefined {
  if (s === undefined) return undefined;
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new CliError(`${flag}: "${s}" is not a date (ISO 8601, e.g. 2026-12-01T00:00:00Z)`);
  return d;
}

export const list = (s: string | undefined): string[] =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export const print = (o: unknown) => console.log(JSON.stringify(o));
