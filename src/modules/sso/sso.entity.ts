// SSO connections of an organization, their email domains, and the SAML ids already seen.
import { defineEntity, p } from '@mikro-orm/core';
import { baseProperties } from '../common/base.entity.js';
import { OrganizationSchema } from '../org/organization.entity.js';

/** Kind-specific settings that are not secret (the OIDC client secret is sealed apart). */
export interface SsoSettings {
  issuer?: string;
  clientId?: string;
  scopes?: string[];
  emailClaim?: string;
  nameClaim?: string;
  idpEntityId?: string;
  idpSsoUrl?: string;
  /** PEM. */
  idpCertificate?: string;
  wantResponseSigned?: boolean;
}

export const SsoConnectionSchema = defineEntity({
  name: 'SsoConnection',
  tableName: 'sso_connections',
  properties: {
    ...baseProperties,
    organizationId: p.manyToOne(OrganizationSchema).mapToPk().fieldName('organization_id').deleteRule('cascade').deferMode('deferred').index(),
    /** oidc | saml */
    kind: p.string().length(8),
    name: p.string().length(200),
    enabled: p.boolean(),
    /** member | admin */
    defaultRole: p.string().length(16),
    settings: p.json<SsoSettings>(),
    /** OIDC client secret, AES-256-GCM under SECRET, bound to the connection id. */
    secretSealed: p.text().nullable().hidden().lazy(),
  },
});
export class SsoConnection extends SsoConnectionSchema.class {}
SsoConnectionSchema.setClass(SsoConnection);

export const SsoDomainSchema = defineEntity({
  name: 'SsoDomain',
  tableName: 'sso_domains',
  properties: {
    ...baseProperties,
    connectionId: p.manyToOne(SsoConnectionSchema).mapToPk().fieldName('connection_id').deleteRule('cascade').deferMode('deferred').index(),
    organizationId: p.string().length(26),
    domain: p.string().length(253).unique(),
    /** The value the `_latchkey-challenge.<domain>` TXT record must have (public, not a secret). */
    verificationToken: p.string().length(64),
    verifiedAt: p.datetime().nullable(),
    ssoRequired: p.boolean(),
  },
});
export class SsoDomain extends SsoDomainSchema.class {}
SsoDomainSchema.setClass(SsoDomain);

/** SAML request ids awaiting their response, and assertion ids already consumed (replay guard). */
export const SsoSeenIdSchema = defineEntity({
  name: 'SsoSeenId',
  tableName: 'sso_seen_ids',
  properties: {
    /** "request:<connection>:<id>" or "assertion:<connection>:<id>". */
    key: p.string().primary().length(400),
    value: p.string().length(64),
    expiresAt: p.datetime().index(),
  },
});
export class SsoSeenId extends SsoSeenIdSchema.class {}
SsoSeenIdSchema.setClass(SsoSeenId);
