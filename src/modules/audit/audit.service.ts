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

/** Called for every event as it is appended, with the same EntityManager; adds rows to the same unit of work, never flushes. */
export type AuditListener = (em: EntityManager, event: AuditEvent) => void;

export class AuditLog {
  private readonly ids = new EventIds();
  private readonly listeners: AuditListener[] = [];

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
    const event = em.create(AuditEvent, {
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
    for (const l of this.listeners) l(em, event);
    return event;
  }

  /**
   * Derive rows from every event in the event's own unit of work (the webhook outbox): they commit
   * with the change or not at all, and no call site has to know about them.
   */
  onRecord(listener: AuditListener): void {
    this.listeners.push(listener);
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

  /** Newest first; the page token is the last id returned. Plain rows (no entity hydration): this list is read often and long. */
  async list(organizationId: string, page: Page, filter: AuditFilter = {}): Promise<{ items: AuditEventView[]; next: string }> {
    if (filter.start && filter.end && filter.start > filter.end) throw invalid('start_time', 'must not be after end_time');
    const where = ['organization_id = ?'];
    const params: unknown[] = [organizationId];
    if (filter.type) where.push('type = ?'), params.push(filter.type);
    if (filter.start) where.push('created_at >= ?'), params.push(filter.start);
    if (filter.end) where.push('created_at < ?'), params.push(filter.end);
    if (page.cursor) where.push('id < ?'), params.push(page.cursor.after);
    const rows = await this.em.execute<AuditRow[]>(
      `select id, created_at, organization_id, type, actor_type, actor_id, target_type, target_id, ip, user_agent, metadata
         from audit_events where ${where.join(' and ')} order by id desc limit ?`,
      [...params, page.size + 1],
    );
    return cut(rows.map(toView), page, (r) => r.id);
  }
}

/** An audit event as read back: the entity's fields, as a plain object. */
export type AuditEventView = Pick<AuditEvent, 'id' | 'createdAt' | 'organizationId' | 'type' | 'actorType' | 'actorId' | 'targetType' | 'targetId' | 'ip' | 'userAgent' | 'metadata'>;

interface AuditRow {
  id: string;
  created_at: Date | string;
  organization_id: string;
  type: string;
  actor_type: string;
  actor_id: string;
  target_type: string;
  target_id: string;
  ip: string;
  user_agent: string;
  metadata: Record<string, unknown> | string;
}

const toView = (r: AuditRow): AuditEventView => ({
  id: r.id,
  createdAt: new Date(r.created_at),
  organizationId: r.organization_id,
  type: r.type,
  actorType: r.actor_type,
  actorId: r.actor_id,
  targetType: r.target_type,
  targetId: r.target_id,
  ip: r.ip,
  userAgent: r.user_agent,
  metadata: typeof r.metadata === 'string' ? JSON.parse(r.metadata) : r.metadata,
});
