// SsoService handlers: parse, call the SSO module, map. The tenancy interceptor has resolved the
// organization of the path and checked the caller is an admin there.
import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import {
  type OidcSettings,
  OidcSettingsSchema,
  type SamlSettings,
  SamlSettingsSchema,
  type SsoConnection as SsoConnectionMessage,
  SsoConnectionSchema,
  type SsoDomain as SsoDomainMessage,
  SsoDomainSchema,
  SsoKind,
  type SsoService,
} from '../../../gen/latchkey/v1/sso_pb.js';
import { type ConnectionView, challengeName, type Sso, type SsoDomain } from '../../modules/sso/index.js';
import { actorOf, tenantOf } from '../interceptors/tenancy.js';
import { ts } from '../mappers/time.js';

const toDomain = (d: SsoDomain): SsoDomainMessage =>
  create(SsoDomainSchema, {
    domain: d.domain,
    verified: !!d.verifiedAt,
    verifyTime: ts(d.verifiedAt),
    txtRecordName: challengeName(d.domain),
    txtRecordValue: d.verificationToken,
    ssoRequired: d.ssoRequired,
  });

function toConnection(sso: Sso, v: ConnectionView): SsoConnectionMessage {
  const c = v.connection;
  const s = c.settings;
  const saml = c.kind === 'saml' ? sso.saml.urls(c.id) : undefined;
  return create(SsoConnectionSchema, {
    id: c.id,
    organizationId: c.organizationId,
    kind: c.kind === 'oidc' ? SsoKind.OIDC : SsoKind.SAML,
    name: c.name,
    enabled: c.enabled,
    defaultRole: c.defaultRole,
    oidc:
      c.kind === 'oidc'
        ? create(OidcSettingsSchema, {
            issuer: s.issuer,
            clientId: s.clientId,
            clientSecretSet: v.hasSecret,
            scopes: s.scopes,
            emailClaim: s.emailClaim,
            nameClaim: s.nameClaim,
            redirectUri: sso.oidcRedirectUri(),
          })
        : undefined,
    saml: saml
      ? create(SamlSettingsSchema, {
          idpEntityId: s.idpEntityId,
          idpSsoUrl: s.idpSsoUrl,
          idpCertificate: s.idpCertificate,
          wantResponseSigned: !!s.wantResponseSigned,
          spEntityId: saml.entityId,
          acsUrl: saml.acsUrl,
          metadataUrl: saml.metadataUrl,
        })
      : undefined,
    domains: v.domains.map(toDomain),
    signInUrl: sso.startUrl(c.id),
    createTime: ts(c.createdAt),
    updateTime: ts(c.updatedAt),
  });
}

const oidcInput = (o: OidcSettings | undefined) => o && { issuer: o.issuer, clientId: o.clientId, clientSecret: o.clientSecret, scopes: o.scopes, emailClaim: o.emailClaim, nameClaim: o.nameClaim };
const samlInput = (s: SamlSettings | undefined) =>
  s && { idpMetadataXml: s.idpMetadataXml, idpEntityId: s.idpEntityId, idpSsoUrl: s.idpSsoUrl, idpCertificate: s.idpCertificate, wantResponseSigned: s.wantResponseSigned };

export function ssoHandlers(sso: Sso): ServiceImpl<typeof SsoService> {
  const { connections } = sso;
  return {
    async createSsoConnection(req, ctx) {
      const kind = req.kind === SsoKind.OIDC ? 'oidc' : 'saml';
      const input = { name: req.name, defaultRole: req.defaultRole, enabled: req.enabled, oidc: oidcInput(req.oidc), saml: samlInput(req.saml) };
      return { connection: toConnection(sso, await connections.create(tenantOf(ctx).organizationId, kind, input, actorOf(ctx))) };
    },

    async listSsoConnections(_req, ctx) {
      return { connections: (await connections.list(tenantOf(ctx).organizationId)).map((v) => toConnection(sso, v)) };
    },

    async getSsoConnection(req, ctx) {
      return { connection: toConnection(sso, await connections.get(tenantOf(ctx).organizationId, req.connectionId)) };
    },

    async updateSsoConnection(req, ctx) {
      const input = { name: req.name, defaultRole: req.defaultRole, enabled: req.enabled, oidc: oidcInput(req.oidc), saml: samlInput(req.saml) };
      return { connection: toConnection(sso, await connections.update(tenantOf(ctx).organizationId, req.connectionId, input, actorOf(ctx), tenantOf(ctx).role)) };
    },

    async deleteSsoConnection(req, ctx) {
      await connections.delete(tenantOf(ctx).organizationId, req.connectionId, actorOf(ctx));
      return {};
    },

    async addSsoDomain(req, ctx) {
      return { domain: toDomain(await connections.addDomain(tenantOf(ctx).organizationId, req.connectionId, req.domain, req.ssoRequired, actorOf(ctx))) };
    },

    async verifySsoDomain(req, ctx) {
      return { domain: toDomain(await connections.verifyDomain(tenantOf(ctx).organizationId, req.connectionId, req.domain, actorOf(ctx))) };
    },

    async updateSsoDomain(req, ctx) {
      return { domain: toDomain(await connections.updateDomain(tenantOf(ctx).organizationId, req.connectionId, req.domain, req.ssoRequired, actorOf(ctx))) };
    },

    async removeSsoDomain(req, ctx) {
      await connections.removeDomain(tenantOf(ctx).organizationId, req.connectionId, req.domain, actorOf(ctx));
      return {};
    },

    async lookupSsoDomain(req) {
      const email = req.email.trim().toLowerCase();
      const r = await connections.route(email);
      if (!r) return { sso: false };
      return { sso: true, redirectUrl: sso.signInUrl(r, email), ssoRequired: r.domain.ssoRequired, connectionName: r.connection.name };
    },
  };
}
