// The audit log: security events appended in the caller's unit of work, so an event is written
// exactly when the change it records is, and never for a change that rolled back.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../common/clock.js';
import { invalid } from '../common/errors.js';
import { cut, type Page } from '../common/page-token.js';
import { AuditEvent } from './audit-event.entity.js';
import { EventIds } from './event-id.js';
import type { Actor, AuditEventType } from './events.js';

export interface AuditRecord extends Actor {
  organizationId: string;
  type: AuditEventType;
  targetType?: string;
  targetId?: string;
  metadata?: Record<string, unknown>;
}

export interface AuditFilter {
  type?: string;
  /** Inclusive. */
  start?: Date;
  /** Exclusive. */
  end?: Date;
}

export class AuditLog {
  private readonly ids = new EventIds();

  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
  ) {}

  /**
   * Append an event to `em`'s unit of work: it is written by the caller's next flush, or on commit
   * when `em` is a transaction's EntityManager. Never flushes by itself.
   */
  record(em: EntityManager, e: AuditRecord): AuditEvent {
    const now = this.clock.now();
    return em.create(AuditEvent, {
      id: this.ids.next(now),
      createdAt: now,
      organizationId: e.organizationId,
      type: e.type,
      actorType: e.actorType,
      actorId: e.actorId ?? '',
      targetType: e.targetType ?? '',
      targetId: e.targetId ?? '',
      ip: (e.ip ?? '').slice(0, 64),
      userAgent: (e.userAgent ?? '').slice(0, 512),
      metadata: e.metadata ?? {},
    });
  }

  /**
   * A user-level event (sign-in, session revoked) belongs to no single organization: it is recorded
   * once in every organization the user is a member of at that moment. Reads the memberships with `em`.
   */
  async recordForUser(em: EntityManager, userId: string, e: Omit<AuditRecord, 'organizationId'>): Promise<number> {
    const rows = await em.execute<{ organization_id: string }[]>('select organization_id from memberships where user_id = ?', [userId]);
    for (const r of rows) this.record(em, { ...e, organizationId: r.organization_id });
    return rows.length;
  }

  /** Newest first; the page token is the last id returned. */
  async list(organizationId: string, page: Page, filter: AuditFilter = {}): Promise<{ items: AuditEvent[]; next: string }> {
    if (filter.start && filter.end && filter.start > filter.end) throw invalid('start_time', 'must not be after end_time');
    const createdAt: Record<string, Date> = {};
    if (filter.start) createdAt.$gte = filter.start;
    if (filter.end) createdAt.$lt = filter.end;
    const rows = await this.em.find(
      AuditEvent,
      {
        organizationId,
        ...(filter.type ? { type: filter.type } : {}),
        ...(filter.start || filter.end ? { createdAt } : {}),
        ...(page.cursor ? { id: { $lt: page.cursor.after } } : {}),
      },
      { orderBy: { id: 'desc' }, limit: page.size + 1 },
    );
    return cut(rows, page, (r) => r.id);
  }
}
