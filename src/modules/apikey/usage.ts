// Write-behind of what the hot path observes: `last_used_at` (at most once per key per minute),
// flushed in batches by a background timer on its own EntityManager. Advisory only: a crash loses
// at most one interval of it. Credits are not here: they are decremented before a use is admitted
// (credits.ts). The first use after a long idle period is also recorded in the audit log from here.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit.service.js';
import type { KeyRecord } from './record.js';

const TOUCH_EVERY_MS = 60_000;
/** A key unused this long whose next use is worth an audit event. */
const IDLE_MS = 30 * 86_400_000;
const MAX_BATCH = 500;

interface Pending {
  lastUsedAt?: number;
  idleSince?: number | null;
  organizationId: string | null;
  userId: string;
}

export class UsageRecorder {
  private pending = new Map<string, Pending>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    private readonly em: () => EntityManager,
    private readonly audit: AuditLog,
    private readonly log: Logger,
  ) {}

  start(intervalMs = 5_000): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  private entry(r: KeyRecord): Pending {
    let p = this.pending.get(r.id);
    if (!p) {
      p = { organizationId: r.organizationId, userId: r.userId };
      this.pending.set(r.id, p);
    }
    return p;
  }

  /** A verified use at `now`: remembered in memory, written at most once a minute per key. */
  touch(r: KeyRecord, now: number): void {
    const last = r.lastUsedAt;
    if (last !== null && now - last < TOUCH_EVERY_MS) return;
    r.lastUsedAt = now;
    const p = this.entry(r);
    if (p.idleSince === undefined && (last === null ? false : now - last >= IDLE_MS)) p.idleSince = last;
    p.lastUsedAt = now;
  }

  /** Nothing: credits are stored before each use is admitted, so the stored value is current. */
  pendingRemaining(_keyId: string, _generation: number): number | undefined {
    return undefined;
  }

  /** Write everything pending now (also called on shutdown and by tests). */
  flush(): Promise<void> {
    if (!this.flushing) this.flushing = this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    while (this.pending.size) {
      const batch = [...this.pending].slice(0, MAX_BATCH);
      for (const [id] of batch) this.pending.delete(id);
      try {
        await this.writeBatch(batch);
      } catch (err) {
        // Usage data is advisory: log and drop rather than retry forever.
        this.log.warn({ err: (err as Error).message, keys: batch.length }, 'api key usage write-behind failed');
        return;
      }
    }
  }

  private async writeBatch(batch: [string, Pending][]): Promise<void> {
    const em = this.em();
    const used = batch.filter(([, p]) => p.lastUsedAt !== undefined);
    const idle = batch.filter(([, p]) => p.idleSince);
    if (used.length) {
      await em.getConnection().execute(
        `update api_keys k set last_used_at = greatest(coalesce(k.last_used_at, v.t::timestamptz), v.t::timestamptz)
           from (values ${used.map(() => '(?, ?)').join(', ')}) as v(id, t) where k.id = v.id`,
        used.flatMap(([id, p]) => [id, new Date(p.lastUsedAt!).toISOString()]),
      );
    }
    if (idle.length) {
      for (const [id, p] of idle) {
        const e = {
          actorType: 'api_key' as const,
          actorId: id,
          ip: '',
          userAgent: '',
          type: 'api_key.used_after_idle' as const,
          targetType: 'api_key',
          targetId: id,
          metadata: { idleSince: new Date(p.idleSince!).toISOString(), usedAt: new Date(p.lastUsedAt!).toISOString() },
        };
        if (p.organizationId) this.audit.record(em, { ...e, organizationId: p.organizationId });
        else await this.audit.recordForUser(em, p.userId, e);
      }
      await em.flush();
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
