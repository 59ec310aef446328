// Expiry notices: 7 days and 1 day before an API key expires, an email to its creator and the
// organization's admins and an `api_key.expiring` audit (and webhook) event; `api_key.expired` when
// it lapses. Every replica runs the check; a notice happens once per key, threshold and expiry time
// because it starts with a unique insert into api_key_expiry_notices, in the same transaction as
// the audit event: of two replicas, the second one's insert waits for the first and finds the row.
import { defineEntity, p } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit.service.js';
import { SYSTEM } from '../audit/events.js';
import type { Clock } from '../common/clock.js';
import { Periodic } from '../common/periodic.js';
import type { Email } from '../mail/index.js';

/** The marker of a notice given: (key, threshold, the expiry it was for). A new expiry gets new notices. */
export const ExpiryNoticeSchema = defineEntity({
  name: 'ExpiryNotice',
  tableName: 'api_key_expiry_notices',
  properties: {
    keyId: p.string().primary().length(32),
    /** 7d | 1d | expired */
    threshold: p.string().primary().length(8),
    expiresAt: p.datetime().primary(),
    createdAt: p.datetime(),
  },
});

class ExpiryNotice extends ExpiryNoticeSchema.class {}
ExpiryNoticeSchema.setClass(ExpiryNotice);

const DAY = 24 * 3600 * 1000;

/** Each notice covers a window of expiry times relative to now; a key already inside a later window skips the earlier notice. */
const THRESHOLDS = [
  { name: '7d', from: DAY, to: 7 * DAY, label: '7 days' },
  { name: '1d', from: 0, to: DAY, label: '1 day' },
  // Keys that lapsed more than a week before the check started are not announced (no flood on upgrade).
  { name: 'expired', from: -7 * DAY, to: 0, label: '' },
] as const;

interface DueKey {
  id: string;
  name: string;
  start: string;
  organization_id: string | null;
  client_organization_id: string | null;
  created_by_user_id: string;
  expires_at: Date | string;
}

export interface ExpiryMail {
  send(email: Email): void;
}

function expiryEmail(to: string, k: DueKey, label: string, expiresAt: Date): Email {
  const lines = [
    `Your API key "${k.name}" (${k.start}…) expires in about ${label}, on ${expiresAt.toISOString().replace('T', ' ').slice(0, 16)} UTC.`,
    'After that, requests with it are refused. Create a new key (or extend this one) where it is used before then.',
  ];
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return { to, subject: `An API key expires in ${label}: ${k.name}`, text: lines.join('\n'), html: `<!doctype html><html><body>${lines.map((l) => `<p>${esc(l)}</p>`).join('')}</body></html>` };
}

export interface ExpirySettings {
  /** API_KEY_EXPIRY_CHECK_INTERVAL_MS */
  intervalMs: number;
}

export class ExpiryNotices {
  private readonly job: Periodic;

  constructor(
    private readonly forkEm: () => EntityManager,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
    private readonly mail: ExpiryMail,
    private readonly log: Logger,
    s: ExpirySettings,
  ) {
    this.job = new Periodic(
      () => this.check(),
      s.intervalMs,
      (err) => this.log.warn({ err: err.message }, 'API key expiry check failed'),
    );
  }

  start(): void {
    this.job.start();
  }

  close(): Promise<void> {
    return this.job.stop();
  }

  /** Give every notice that is due now; returns how many this replica gave. */
  async check(): Promise<number> {
    let given = 0;
    for (const t of THRESHOLDS) {
      const now = this.clock.now().getTime();
      const due = await this.forkEm().execute<DueKey[]>(
        `select k.id, k.name, k.start, k.organization_id, k.client_organization_id, k.created_by_user_id, k.expires_at from api_keys k
          where k.revoked_at is null and k.expires_at > ? and k.expires_at <= ?
            and not exists (select 1 from api_key_expiry_notices n where n.key_id = k.id and n.threshold = ? and n.expires_at = k.expires_at)
          order by k.expires_at limit 500`,
        [new Date(now + t.from), new Date(now + t.to), t.name],
      );
      for (const k of due) if (await this.notify(k, t)) given++;
    }
    return given;
  }

  private async notify(k: DueKey, t: (typeof THRESHOLDS)[number]): Promise<boolean> {
    const expiresAt = new Date(k.expires_at);
    const em = this.forkEm();
    const claimed = await em.transactional(async (tx) => {
      const rows = await tx.execute<{ key_id: string }[]>(
        `insert into api_key_expiry_notices (key_id, threshold, expires_at, created_at) values (?, ?, ?, ?) on conflict do nothing returning key_id`,
        [k.id, t.name, expiresAt, this.clock.now()],
      );
      if (rows.length === 0) return false; // another replica gave it
      const type = t.name === 'expired' ? 'api_key.expired' : 'api_key.expiring';
      const e = { ...SYSTEM, type, targetType: 'api_key', targetId: k.id, metadata: { name: k.name, start: k.start, expiresAt: expiresAt.toISOString(), ...(t.label ? { within: t.label } : {}) } };
      if (k.organization_id) {
        this.audit.record(tx, { ...e, organizationId: k.organization_id });
        if (k.client_organization_id) this.audit.record(tx, { ...e, organizationId: k.client_organization_id });
      } else await this.audit.recordForUser(tx, k.created_by_user_id, e);
      return true;
    });
    if (!claimed || t.name === 'expired') return claimed;
    for (const to of await this.recipients(em, k)) this.mail.send(expiryEmail(to, k, t.label, expiresAt));
    return true;
  }

  /** The key's creator and the admins of its organization, each once. */
  private async recipients(em: EntityManager, k: DueKey): Promise<string[]> {
    const rows = await em.execute<{ email: string }[]>(
      `select u.email from users u where u.is_active and (u.id = ? or u.id in
         (select m.user_id from memberships m where m.organization_id = ? and m.role in ('admin', 'root_admin')))`,
      [k.created_by_user_id, k.organization_id ?? ''],
    );
    return [...new Set(rows.map((r) => r.email))];
  }
}
