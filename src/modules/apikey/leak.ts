// A key found in the wild: revoke it if it is live, audit it, and tell the people who own it. The
// caller learns nothing: the answer is the same for a live, dead, unknown or malformed key.

import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Actor } from '../audit/events.js';
import type { InvalidationBus } from '../common/bus.js';
import { invalid } from '../common/errors.js';
import type { Email } from '../mail/index.js';
import { consume, type RateLimiter } from '../ratelimit/index.js';
import { ApiKey } from './api-key.entity.js';
import type { ApiKeyLifecycle } from './api-key.service.js';
import { hashKey, isWellFormedKey } from './key-format.js';

const REPORTS_PER_IP = { limit: 10, windowSeconds: 60 };

export interface LeakMail {
  send(email: Email): void;
}

function leakEmail(to: string, keyName: string, start: string, source: string, revoked: boolean): Email {
  const lines = [
    `An API key was reported as leaked: "${keyName}" (${start}…).`,
    revoked ? 'Latchkey revoked it: requests with it are refused from now on.' : 'It had been regenerated; its old secret was stopped at once.',
    ...(source ? [`Reported source: ${source}`] : []),
    'Create a new key where it was used, and check the audit log for activity you do not recognise.',
  ];
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return { to, subject: 'An API key of yours was reported as leaked', text: lines.join('\n'), html: `<!doctype html><html><body>${lines.map((l) => `<p>${esc(l)}</p>`).join('')}</body></html>` };
}

export class LeakReports {
  constructor(
    private readonly em: EntityManager,
    private readonly lifecycle: ApiKeyLifecycle,
    private readonly bus: InvalidationBus,
    private readonly limiter: RateLimiter,
    private readonly mail: LeakMail,
  ) {}

  async report(key: string, source: string, actor: Actor): Promise<void> {
    const plain = key.trim();
    if (!plain) throw invalid('key', 'is required');
    await consume(this.limiter, `leak:ip:${actor.ip}`, REPORTS_PER_IP.limit, REPORTS_PER_IP.windowSeconds, 'Too many leak reports from this address, retry later');
    await this.contain(plain, source, actor, 'api_key.leak_reported');
  }

  /**
   * A key a trusted secret scanner found in public (its report's signature already checked): revoked
   * like a reported leak, audited as `api_key.leaked`. True when the token is one of our keys (live or not).
   */
  async leaked(key: string, source: string, actor: Actor): Promise<boolean> {
    return this.contain(key.trim(), source, actor, 'api_key.leaked');
  }

  private async contain(plain: string, source: string, actor: Actor, type: 'api_key.leak_reported' | 'api_key.leaked'): Promise<boolean> {
    if (!isWellFormedKey(plain)) return false;
    const hash = hashKey(plain);
    const where = source.trim().slice(0, 500);
    let known = false;
    const found = await this.em.transactional(async (tx) => {
      const k = await tx.findOne(ApiKey, { $or: [{ keyHash: hash }, { previousKeyHash: hash }] }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      known = !!k;
      if (!k || k.revokedAt) return undefined;
      // A leaked previous secret (still in its grace period) ends the grace; a leaked current one revokes the key.
      const revoked = k.keyHash === hash;
      if (revoked) this.lifecycle.markRevoked(k);
      else (k.previousKeyHash = null), (k.previousExpiresAt = null);
      await this.lifecycle.record(tx, { ...actor, actorType: 'system', actorId: '' }, k, type, { start: k.start, source: where, revoked, reporterIp: actor.ip });
      return { k, revoked };
    });
    if (!found) return known;
    this.bus.invalidate({ keyId: found.k.id });
    // A scanner's find also tells the key's owner; a report (anyone may send one) tells the admins.
    for (const to of await this.recipients(found.k, type === 'api_key.leaked')) this.mail.send(leakEmail(to, found.k.name, found.k.start, where, found.revoked));
    return true;
  }

  /** The admins of the key's organization (and its owner when asked); the owner of a personal token. */
  private async recipients(k: ApiKey, withOwner: boolean): Promise<string[]> {
    const rows = k.organizationId
      ? await this.em.execute<{ email: string }[]>(
          `select distinct u.email from memberships m join users u on u.id = m.user_id
            where m.organization_id = ? and (m.role in ('admin', 'root_admin') or u.id = ?) and u.is_active`,
          [k.organizationId, withOwner ? k.createdByUserId : ''],
        )
      : await this.em.execute<{ email: string }[]>('select email from users where id = ?', [k.createdByUserId]);
    return rows.map((r) => r.email);
  }
}
