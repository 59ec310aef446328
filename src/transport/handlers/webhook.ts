// WebhookService handlers: parse, call the webhook module, map. The tenancy interceptor has already
// resolved the organization of the path and checked the caller is an admin there.
import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { type WebhookDelivery as DeliveryMsg, type WebhookEndpoint as EndpointMsg, WebhookDeliverySchema, WebhookEndpointSchema, type WebhookService } from '../../../gen/latchkey/v1/webhook_pb.js';
import { readPage } from '../../modules/common/page-token.js';
import type { DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEndpoints } from '../../modules/webhook/index.js';
import { actorOf, tenantOf } from '../interceptors/tenancy.js';
import { ts } from '../mappers/time.js';
import { principalOf } from './caller.js';

const toEndpoint = (e: WebhookEndpoint): EndpointMsg =>
  create(WebhookEndpointSchema, {
    id: e.id,
    organizationId: e.organizationId,
    url: e.url,
    description: e.description,
    eventTypes: e.eventTypes,
    enabled: e.enabled,
    previousSecretExpiresAt: e.previousSecretExpiresAt ? ts(e.previousSecretExpiresAt) : undefined,
    createdAt: ts(e.createdAt),
    updatedAt: ts(e.updatedAt),
  });

const toDelivery = (d: WebhookDelivery): DeliveryMsg =>
  create(WebhookDeliverySchema, {
    id: d.id,
    endpointId: d.endpointId,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode ?? 0,
    lastLatencyMs: d.lastLatencyMs ?? 0,
    lastError: d.lastError,
    lastAttemptAt: d.lastAttemptAt ? ts(d.lastAttemptAt) : undefined,
    nextAttemptAt: d.status === 'pending' && d.nextAttemptAt ? ts(d.nextAttemptAt) : undefined,
    deliveredAt: d.deliveredAt ? ts(d.deliveredAt) : undefined,
    createdAt: ts(d.createdAt),
  });

export function webhookHandlers({ webhooks }: { webhooks: WebhookEndpoints }): ServiceImpl<typeof WebhookService> {
  const org = (ctx: Parameters<typeof tenantOf>[0]) => tenantOf(ctx).organizationId;
  return {
    async createWebhookEndpoint(req, ctx) {
      const input = { url: req.url, description: req.description, eventTypes: req.eventTypes, enabled: req.enabled };
      const { endpoint, secret } = await webhooks.create(org(ctx), principalOf(ctx).userId, input, actorOf(ctx));
      return { endpoint: toEndpoint(endpoint), secret };
    },

    async listWebhookEndpoints(req, ctx) {
      const { items, next } = await webhooks.list(org(ctx), readPage(req.pageSize, req.pageToken));
      return { endpoints: items.map(toEndpoint), nextPageToken: next };
    },

    async getWebhookEndpoint(req, ctx) {
      return { endpoint: toEndpoint(await webhooks.get(org(ctx), req.endpointId)) };
    },

    async updateWebhookEndpoint(req, ctx) {
      const input = { url: req.url, description: req.description, eventTypes: req.setEventTypes || req.eventTypes.length ? req.eventTypes : undefined, enabled: req.enabled };
      return { endpoint: toEndpoint(await webhooks.update(org(ctx), req.endpointId, input, actorOf(ctx))) };
    },

    async deleteWebhookEndpoint(req, ctx) {
      await webhooks.delete(org(ctx), req.endpointId, actorOf(ctx));
      return {};
    },

    async rotateWebhookSecret(req, ctx) {
      const { endpoint, secret } = await webhooks.rotate(org(ctx), req.endpointId, req.overlapSeconds, actorOf(ctx));
      return { endpoint: toEndpoint(endpoint), secret };
    },

    async listWebhookDeliveries(req, ctx) {
      const { items, next } = await webhooks.deliveries(org(ctx), req.endpointId, readPage(req.pageSize, req.pageToken), (req.status || undefined) as DeliveryStatus | undefined);
      return { deliveries: items.map(toDelivery), nextPageToken: next };
    },

    async replayWebhookDelivery(req, ctx) {
      return { delivery: toDelivery(await webhooks.replay(org(ctx), req.endpointId, req.deliveryId)) };
    },

    async sendTestWebhookEvent(req, ctx) {
      return { delivery: toDelivery(await webhooks.sendTest(org(ctx), req.endpointId)) };
    },
  };
}
