// Webhook endpoints of an organization: create (the secret is returned once), change, rotate the
// secret with an overlap, read the delivery log, replay a delivery, send a test event.
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditLog } from '../audit/audit.service.js';
import type { Actor } from '../audit/events.js';
import type { Clock } from '../common/clock.js';
import { invalid, notFound } from '../common/errors.js';
import { ulid } from '../common/ids.js';
import { cut, type Page } from '../common/page-token.js';
import { open, seal } from '../common/sealing.js';
import { AddressRefused, checkAddress } from './address.js';
import { isValidFilter, TEST_EVENT_TYPE } from './events.js';
import { type DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent } from './webhook.entity.js';

export interface EndpointInput {
  url?: string;
  description?: string;
  eventTypes?: string[];
  enabled?: boolean;
}

export interface EndpointSettings {
  /** WEBHOOK_ALLOW_PRIVATE: receivers on private, loopback and link-local addresses are allowed. */
  allowPrivate: boolean;
  /** How long a rotated-out secret keeps signing when the call names no overlap. */
  defaultOverlapSeconds: number;
}

const MAX_ENDPOINTS = 50;
const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;

const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

export class WebhookEndpoints {
  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
    private readonly sealKey: Buffer,
    private readonly s: EndpointSettings,
  ) {}

  /** The secrets an endpoint signs with now: the current one, and the previous during its overlap. */
  secretsOf(e: Pick<WebhookEndpoint, 'id' | 'secretSealed' | 'previousSecretSealed' | 'previousSecretExpiresAt'>, now: Date): string[] {
    const out = [open(this.sealKey, e.secretSealed, e.id)];
    if (e.previousSecretSealed && e.previousSecretExpiresAt && e.previousSecretExpiresAt > now) out.push(open(this.sealKey, e.previousSecretSealed, e.id));
    return out;
  }

  async create(organizationId: string, userId: string, input: EndpointInput, actor: Actor): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const url = await this.checkUrl(input.url ?? '');
    const eventTypes = checkFilter(input.eventTypes ?? []);
    if ((await this.em.count(WebhookEndpoint, { organizationId })) >= MAX_ENDPOINTS) throw invalid('url', `an organization may have at most ${MAX_ENDPOINTS} endpoints`);
    const now = this.clock.now();
    const id = `we_${ulid(now.getTime())}`;
    const secret = newSecret();
    const endpoint = await this.em.transactional(async (tx) => {
      const e = tx.create(WebhookEndpoint, {
        id,
        createdAt: now,
        updatedAt: now,
        organizationId,
        url,
        description: (input.description ?? '').trim(),
        eventTypes,
        enabled: input.enabled ?? true,
        secretSealed: seal(this.sealKey, secret, id),
        previousSecretSealed: null,
        previousSecretExpiresAt: null,
        createdByUserId: userId,
      });
      this.audit.record(tx, { ...actor, organizationId, type: 'webhook.endpoint_created', targetType: 'webhook_endpoint', targetId: id, metadata: { url, eventTypes } });
      return e;
    });
    return { endpoint, secret };
  }

  async list(organizationId: string, page: Page): Promise<{ items: WebhookEndpoint[]; next: string }> {
    const rows = await this.em.find(WebhookEndpoint, { organizationId, ...(page.cursor ? { id: { $gt: page.cursor.after } } : {}) }, { orderBy: { id: 'asc' }, limit: page.size + 1 });
    return cut(rows, page, (e) => e.id);
  }

  async get(organizationId: string, id: string): Promise<WebhookEndpoint> {
    const e = await this.em.findOne(WebhookEndpoint, { id, organizationId });
    if (!e) throw notFound('Webhook endpoint');
    return e;
  }

  async update(organizationId: string, id: string, input: EndpointInput, actor: Actor): Promise<WebhookEndpoint> {
    const url = input.url === undefined ? undefined : await this.checkUrl(input.url);
    const eventTypes = input.eventTypes === undefined ? undefined : checkFilter(input.eventTypes);
    return this.em.transactional(async (tx) => {
      const e = await tx.findOne(WebhookEndpoint, { id, organizationId });
      if (!e) throw notFound('Webhook endpoint');
      const changes: Record<string, unknown> = {};
      if (url !== undefined) (e.url = url), (changes.url = url);
      if (eventTypes !== undefined) (e.eventTypes = eventTypes), (changes.eventTypes = eventTypes);
      if (input.description !== undefined) (e.description = input.description.trim()), (changes.description = e.description);
      if (input.enabled !== undefined) (e.enabled = input.enabled), (changes.enabled = input.enabled);
      e.updatedAt = this.clock.now();
      this.audit.record(tx, { ...actor, organizationId, type: 'webhook.endpoint_updated', targetType: 'webhook_endpoint', targetId: id, metadata: changes });
      return e;
    });
  }

  async delete(organizationId: string, id: string, actor: Actor): Promise<void> {
    await this.em.transactional(async (tx) => {
      const gone = await tx.nativeDelete(WebhookEndpoint, { id, organizationId });
      if (!gone) throw notFound('Webhook endpoint');
      this.audit.record(tx, { ...actor, organizationId, type: 'webhook.endpoint_deleted', targetType: 'webhook_endpoint', targetId: id });
    });
  }

  /** A new secret; the old one keeps signing (a second signature) for `overlapSeconds`. */
  async rotate(organizationId: string, id: string, overlapSeconds: number | undefined, actor: Actor): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const overlap = overlapSeconds ?? this.s.defaultOverlapSeconds;
    if (overlap < 0 || overlap > MAX_OVERLAP_SECONDS) throw invalid('overlapSeconds', `must be between 0 and ${MAX_OVERLAP_SECONDS}`);
    const secret = newSecret();
    const endpoint = await this.em.transactional(async (tx) => {
      const e = await tx.findOne(WebhookEndpoint, { id, organizationId });
      if (!e) throw notFound('Webhook endpoint');
      const now = this.clock.now();
      e.previousSecretSealed = overlap > 0 ? e.secretSealed : null;
      e.previousSecretExpiresAt = overlap > 0 ? new Date(now.getTime() + overlap * 1000) : null;
      e.secretSealed = seal(this.sealKey, secret, id);
      e.updatedAt = now;
      this.audit.record(tx, { ...actor, organizationId, type: 'webhook.secret_rotated', targetType: 'webhook_endpoint', targetId: id, metadata: { overlapSeconds: overlap } });
      return e;
    });
    return { endpoint, secret };
  }

  /** Newest first. */
  async deliveries(organizationId: string, endpointId: string, page: Page, status?: DeliveryStatus): Promise<{ items: WebhookDelivery[]; next: string }> {
    await this.get(organizationId, endpointId);
    const rows = await this.em.find(
      WebhookDelivery,
      { endpointId, organizationId, ...(status ? { status } : {}), ...(page.cursor ? { id: { $lt: page.cursor.after } } : {}) },
      { orderBy: { id: 'desc' }, limit: page.size + 1 },
    );
    return cut(rows, page, (d) => d.id);
  }

  /**
   * Send a delivery again, now, with a fresh retry window: a dead-lettered one, or a delivered one the
   * receiver lost. The webhook-id stays the event's, so receivers that saw it can drop the copy.
   */
  async replay(organizationId: string, endpointId: string, deliveryId: string): Promise<WebhookDelivery> {
    const now = this.clock.now();
    const n = await this.em.nativeUpdate(
      WebhookDelivery,
      { id: deliveryId, endpointId, organizationId },
      { status: 'pending', windowStartAt: now, nextAttemptAt: now, deliveredAt: null, updatedAt: now },
    );
    if (!n) throw notFound('Webhook delivery');
    return this.em.findOneOrFail(WebhookDelivery, { id: deliveryId }, { refresh: true });
  }

  /** A `webhook.test` event to this endpoint only (whatever its filter), queued now. */
  async sendTest(organizationId: string, endpointId: string): Promise<WebhookDelivery> {
    const e = await this.get(organizationId, endpointId);
    const now = this.clock.now();
    const eventId = `msg_${ulid(now.getTime())}`;
    return this.em.transactional(async (tx) => {
      tx.create(WebhookEvent, {
        id: eventId,
        createdAt: now,
        organizationId,
        type: TEST_EVENT_TYPE,
        payload: { type: TEST_EVENT_TYPE, timestamp: now.toISOString(), data: { organizationId, endpointId: e.id } },
        endpointId: e.id,
        dispatchedAt: now,
      });
      return tx.create(WebhookDelivery, newDelivery(eventId, TEST_EVENT_TYPE, e, now));
    });
  }

  private async checkUrl(raw: string): Promise<string> {
    let u: URL;
    try {
      u = new URL(raw.trim());
    } catch {
      throw invalid('url', 'must be an absolute http or https URL');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalid('url', 'must be an absolute http or https URL');
    if (u.username || u.password) throw invalid('url', 'must not carry a user name or password');
    if (u.href.length > 2048) throw invalid('url', 'must be at most 2048 characters');
    if (!this.s.allowPrivate) {
      try {
        await checkAddress(u);
      } catch (e) {
        if (e instanceof AddressRefused) throw invalid('url', `${e.message}; webhooks go to public addresses only (WEBHOOK_ALLOW_PRIVATE allows others)`);
        throw e;
      }
    }
    return u.href;
  }
}

function checkFilter(types: string[]): string[] {
  const out = [...new Set(types.map((t) => t.trim()))];
  out.forEach((t, i) => {
    if (!isValidFilter(t)) throw invalid(`eventTypes[${i}]`, `"${t}" is not a webhook event type (or "prefix.*", or "*")`);
  });
  return out;
}

function newDelivery(eventId: string, eventType: string, e: Pick<WebhookEndpoint, 'id' | 'organizationId'>, now: Date) {
  return {
    id: `wd_${ulid(now.getTime())}`,
    createdAt: now,
    updatedAt: now,
    organizationId: e.organizationId,
    endpointId: e.id,
    eventId,
    eventType,
    status: 'pending' as const,
    attempts: 0,
    windowStartAt: now,
    nextAttemptAt: now,
    lastAttemptAt: null,
    lastStatusCode: null,
    lastLatencyMs: null,
    lastError: '',
    deliveredAt: null,
  };
}
