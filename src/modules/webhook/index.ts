// Webhooks: every audit event whose type is a webhook type becomes an outbox row in the same unit of
// work (so in the same transaction as the change), and a worker on every replica delivers them.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit.service.js';
import type { Clock } from '../common/clock.js';
import { type EndpointSettings, WebhookEndpoints } from './endpoints.js';
import { payloadOf, webhookTypeOf } from './events.js';
import { WebhookEvent } from './webhook.entity.js';
import { DeliveryWorker, type WorkerSettings } from './worker.js';

export type { DeliveryStatus, WebhookDelivery, WebhookEndpoint } from './webhook.entity.js';
export { WebhookEndpoints };

export interface WebhookSettings extends WorkerSettings, EndpointSettings {
  /** WEBHOOK_WORKER: deliver from this replica (default true). */
  worker: boolean;
}

export interface Webhooks {
  endpoints: WebhookEndpoints;
  worker: DeliveryWorker;
  close(): Promise<void>;
}

export function createWebhooks(d: { em: EntityManager; forkEm: () => EntityManager; clock: Clock; audit: AuditLog; sealKey: Buffer; log: Logger; settings: WebhookSettings }): Webhooks {
  d.audit.onRecord((em, event) => {
    const type = webhookTypeOf(event.type);
    if (!type) return;
    em.create(WebhookEvent, {
      id: `msg_${event.id}`,
      createdAt: event.createdAt,
      organizationId: event.organizationId,
      type,
      payload: payloadOf(type, event),
      endpointId: null,
      dispatchedAt: null,
    });
  });
  const endpoints = new WebhookEndpoints(d.em, d.clock, d.audit, d.sealKey, d.settings);
  const worker = new DeliveryWorker(d.forkEm, d.clock, endpoints, d.log, d.settings);
  if (d.settings.worker) worker.start();
  return { endpoints, worker, close: () => worker.close() };
}
