import { defineEntity, p } from '@mikro-orm/core';
import { OrganizationSchema } from '../org/organization.entity.js';

/** Where an organization wants its events: a URL, a filter and a signing secret (sealed under SECRET). */
export const WebhookEndpointSchema = defineEntity({
  name: 'WebhookEndpoint',
  tableName: 'webhook_endpoints',
  properties: {
    id: p.string().primary().length(32),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    organizationId: p.manyToOne(OrganizationSchema).mapToPk().fieldName('organization_id').deleteRule('cascade').deferMode('deferred').index(),
    url: p.string().length(2048),
    description: p.string().length(500).default(''),
    /** Event types or `prefix.*` patterns; empty = every event. */
    eventTypes: p.json<string[]>(),
    enabled: p.boolean().default(true),
    /** The `whsec_…` secret, sealed: signing needs the secret itself, so it cannot be hashed. */
    secretSealed: p.text().hidden(),
    /** The secret replaced by a rotation, still signing (a second signature) until previousSecretExpiresAt. */
    previousSecretSealed: p.text().nullable().hidden(),
    previousSecretExpiresAt: p.datetime().nullable(),
    createdByUserId: p.string().length(26).default(''),
  },
});

export class WebhookEndpoint extends WebhookEndpointSchema.class {}
WebhookEndpointSchema.setClass(WebhookEndpoint);

/**
 * The outbox: one row per event, written in the same flush as the audit event it derives from, so an
 * event exists exactly when its change committed. The worker fans it out into deliveries.
 */
export const WebhookEventSchema = defineEntity({
  name: 'WebhookEvent',
  tableName: 'webhook_events',
  // As the migration creates it: the worker's scan for events not yet fanned out.
  indexes: [{ name: 'webhook_events_undispatched_index', expression: 'create index webhook_events_undispatched_index on webhook_events (id) where dispatched_at is null' }],
  properties: {
    /** The `webhook-id` of every delivery and retry of this event (receivers de-duplicate on it). */
    id: p.string().primary().length(32),
    createdAt: p.datetime(),
    organizationId: p.string().length(26),
    type: p.string().length(64),
    /** The JSON body sent: {type, timestamp, data}. */
    payload: p.json<Record<string, unknown>>(),
    /** Only this endpoint (a test event); null = every matching endpoint of the organization. */
    endpointId: p.string().length(32).nullable(),
    dispatchedAt: p.datetime().nullable(),
  },
});

export class WebhookEvent extends WebhookEventSchema.class {}
WebhookEventSchema.setClass(WebhookEvent);

export type DeliveryStatus = 'pending' | 'delivered' | 'dead_lettered';

/** One event to one endpoint: its state, the attempts so far and the last attempt's outcome. */
export const WebhookDeliverySchema = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_deliveries',
  // As the migration creates them: the worker's due scan (pending only) and an endpoint's delivery list.
  indexes: [
    { name: 'webhook_deliveries_due_index', expression: "create index webhook_deliveries_due_index on webhook_deliveries (next_attempt_at) where status = 'pending'" },
    { name: 'webhook_deliveries_endpoint_id_id_index', properties: ['endpointId', 'id'] },
  ],
  uniques: [{ properties: ['eventId', 'endpointId'] }],
  properties: {
    id: p.string().primary().length(32),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    organizationId: p.string().length(26),
    endpointId: p.manyToOne(WebhookEndpointSchema).mapToPk().fieldName('endpoint_id').deleteRule('cascade').deferMode('deferred'),
    eventId: p.manyToOne(WebhookEventSchema).mapToPk().fieldName('event_id').deleteRule('cascade').deferMode('deferred'),
    eventType: p.string().length(64),
    status: p.string().length(16).$type<DeliveryStatus>(),
    attempts: p.integer().default(0),
    /** Retries stop (dead letter) once the next one would fall beyond this plus the retry window. */
    windowStartAt: p.datetime(),
    /** Due time while pending; while an attempt is in flight, the end of its lease. */
    nextAttemptAt: p.datetime().nullable(),
    lastAttemptAt: p.datetime().nullable(),
    lastStatusCode: p.integer().nullable(),
    lastLatencyMs: p.integer().nullable(),
    lastError: p.string().length(500).default(''),
    deliveredAt: p.datetime().nullable(),
  },
});

export class WebhookDelivery extends WebhookDeliverySchema.class {}
WebhookDeliverySchema.setClass(WebhookDelivery);
