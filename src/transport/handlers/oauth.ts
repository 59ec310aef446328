// OAuthClientService handlers: clients of the tenant organization, the caller's grants, and the
// console's answer to an authorization request. The provider's own endpoints are not RPCs.
import { create } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { type OAuthClient, OAuthClientSchema, type OAuthClientService, OAuthClientType, OAuthGrantSchema } from '../../../gen/latchkey/v1/oauth_pb.js';
import type { Actor, ClientType, OAuthClientView, OAuthService } from '../../modules/oauth/oauth.service.js';
import { tenantOf } from '../interceptors/tenancy.js';
import { ts } from '../mappers/time.js';
import { clientOf, principalOf } from './caller.js';

const TYPES: Record<ClientType, OAuthClientType> = { confidential: OAuthClientType.CONFIDENTIAL, public: OAuthClientType.PUBLIC, machine: OAuthClientType.MACHINE };
const typeOf = (t: OAuthClientType): ClientType => (t === OAuthClientType.MACHINE ? 'machine' : t === OAuthClientType.PUBLIC ? 'public' : 'confidential');

const toProto = (c: OAuthClientView): OAuthClient => create(OAuthClientSchema, { ...c, type: TYPES[c.type], createTime: ts(c.createdAt) });

function actorOf(ctx: HandlerContext): Actor {
  return { userId: principalOf(ctx).userId, ...clientOf(ctx) };
}

export function oauthHandlers({ oauth }: { oauth: OAuthService }): ServiceImpl<typeof OAuthClientService> {
  return {
    async createOAuthClient(req, ctx) {
      const t = tenantOf(ctx);
      const { client, secret } = await oauth.create(actorOf(ctx), t.organizationId, t.role, {
        name: req.name,
        type: typeOf(req.type),
        redirectUris: req.redirectUris,
        postLogoutRedirectUris: req.postLogoutRedirectUris,
        scopes: req.scopes,
      });
      ctx.responseHeader.set('cache-control', 'no-store');
      return { client: toProto(client), clientSecret: secret ?? '' };
    },
    async listOAuthClients(_req, ctx) {
      return { clients: (await oauth.list(tenantOf(ctx).organizationId)).map(toProto) };
    },
    async getOAuthClient(req, ctx) {
      return { client: toProto(await oauth.get(tenantOf(ctx).organizationId, req.clientId)) };
    },
    async updateOAuthClient(req, ctx) {
      const t = tenantOf(ctx);
      const some = (a: string[]) => (a.length ? a : undefined);
      const client = await oauth.update(t.organizationId, req.clientId, t.role, {
        name: req.name || undefined,
        redirectUris: some(req.redirectUris),
        postLogoutRedirectUris: some(req.postLogoutRedirectUris),
        scopes: some(req.scopes),
      });
      return { client: toProto(client) };
    },
    async deleteOAuthClient(req, ctx) {
      await oauth.delete(actorOf(ctx), tenantOf(ctx).organizationId, req.clientId);
      return {};
    },
    async listOAuthGrants(_req, ctx) {
      const grants = await oauth.grantsOf(principalOf(ctx).userId);
      return { grants: grants.map((g) => create(OAuthGrantSchema, { ...g, createTime: ts(g.createdAt) })) };
    },
    async revokeOAuthGrant(req, ctx) {
      await oauth.revokeGrant(actorOf(ctx), req.grantId);
      return {};
    },
    async getOAuthInteraction(req, ctx) {
      const v = await oauth.describe(principalOf(ctx).userId, req.uid, req.organizationId || undefined);
      return { clientId: v.clientId, clientName: v.clientName, scopes: v.scopes, refusedScopes: v.refusedScopes, redirectUri: v.redirectUri, organizationId: v.organizationId };
    },
    async completeOAuthInteraction(req, ctx) {
      return { redirectTo: await oauth.complete(actorOf(ctx), req.uid, req.approve, req.organizationId || undefined) };
    },
  };
}
