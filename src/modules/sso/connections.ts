// SSO connections of an organization and their email domains: create, change, delete, prove a
// domain by DNS, and answer "where does this email sign in" for the sign-in page and SignIn.
import { X509Certificate } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditLog } from '../audit/audit.service.js';
import type { Actor } from '../audit/events.js';
import type { Invalidation } from '../common/bus.js';
import { Cache, type CacheContext } from '../common/cache.js';
import type { Clock } from '../common/clock.js';
import { conflict, DomainError, forbidden, invalid, notFound } from '../common/errors.js';
import { open, seal } from '../common/sealing.js';
import { randomToken } from '../common/secrets.js';
import type { Role } from '../org/roles.js';
import { challengeName, type TxtResolver } from './dns.js';
import { type IdpMetadata, parseIdpMetadata } from './saml-metadata.js';

import { SsoConnection, SsoDomain, type SsoSettings } from './sso.entity.js';

export type SsoKind = 'oidc' | 'saml';

export interface OidcInput {
  issuer?: string;
  clientId?: string;
  clientSecret?: string;
  scopes?: string[];
  emailClaim?: string;
  nameClaim?: string;
}

export interface SamlInput {
  idpMetadataXml?: string;
  idpEntityId?: string;
  idpSsoUrl?: string;
  idpCertificate?: string;
  wantResponseSigned?: boolean;
}

export interface ConnectionInput {
  name?: string;
  defaultRole?: string;
  enabled?: boolean;
  oidc?: OidcInput;
  saml?: SamlInput;
}

export interface ConnectionView {
  connection: SsoConnection;
  domains: SsoDomain[];
  hasSecret: boolean;
}

/** Where an email signs in, when its domain is verified on an enabled connection. */
export interface Route {
  connection: SsoConnection;
  domain: SsoDomain;
}

export interface SsoConnectionsDeps {
  em: EntityManager;
  audit: AuditLog;
  clock: Clock;
  resolver: TxtResolver;
  /** AES-256-GCM key for client secrets (derived from SECRET). */
  sealKey: Buffer;
  /** http:// IdP URLs accepted (SSO_ALLOW_INSECURE_IDP, tests only). */
  allowInsecureIdp: boolean;
  caches: CacheContext;
  /** Tells every replica (the invalidation bus) that an organization's SSO changed. */
  invalidate: (inv: Invalidation) => void;
}

/** The settings that decide whose identity the IdP asserts (the client secret and name claim do not). */
const IDENTITY_SETTINGS = ['issuer', 'clientId', 'emailClaim', 'idpEntityId', 'idpSsoUrl', 'idpCertificate', 'wantResponseSigned'] as const satisfies readonly (keyof SsoSettings)[];

const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const MAX_CONNECTIONS = 100;

function normalizeDomain(field: string, raw: string): string {
  const d = (raw ?? '').trim().toLowerCase().replace(/\.$/, '');
  if (!DOMAIN_RE.test(d)) throw invalid(field, 'must be a domain name such as example.com');
  return d;
}

const domainOfEmail = (email: string): string => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

export class SsoConnections {
  /** Email domain → whether a verified SSO domain has that name: every sign-in asks, nearly all answers are no. */
  private readonly routed: Cache<boolean>;

  constructor(private readonly d: SsoConnectionsDeps) {
    this.routed = new Cache(d.caches, { max: 50_000, ttlMs: 60_000 });
  }

  /** From the bus: an organization (or everything) changed; the domain answers are few, so all go. */
  apply(inv: Invalidation): void {
    // Where an email signs in changes with an organization's connections and domains only.
    if ('organizationId' in inv || 'all' in inv) this.routed.clear();
  }

  private changed(organizationId: string): void {
    this.d.invalidate({ organizationId });
  }

  private get em() {
    return this.d.em;
  }

  private url(field: string, raw: string): string {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw invalid(field, 'must be an absolute URL');
    }
    if (u.protocol !== 'https:' && !(this.d.allowInsecureIdp && u.protocol === 'http:')) throw invalid(field, 'must be an https URL');
    if (u.username || u.password || u.hash) throw invalid(field, 'must not carry credentials or a fragment');
    return raw.replace(/\/$/, '');
  }

  private applyOidc(c: SsoConnection, o: OidcInput | undefined, creating: boolean): void {
    const s: SsoSettings = { ...c.settings };
    if (o?.issuer) s.issuer = this.url('oidc.issuer', o.issuer);
    if (o?.clientId) s.clientId = o.clientId.trim();
    if (o?.scopes?.length) {
      if (!o.scopes.includes('openid')) throw invalid('oidc.scopes', 'must include "openid"');
      s.scopes = [...new Set(o.scopes)];
    }
    if (o?.emailClaim) s.emailClaim = o.emailClaim;
    if (o?.nameClaim) s.nameClaim = o.nameClaim;
    s.scopes ??= ['openid', 'email', 'profile'];
    s.emailClaim ??= 'email';
    s.nameClaim ??= 'name';
    if (!s.issuer) throw invalid('oidc.issuer', 'is required');
    if (!s.clientId) throw invalid('oidc.client_id', 'is required');
    if (o?.clientSecret) c.secretSealed = seal(this.d.sealKey, o.clientSecret, `sso-client-secret:${c.id}`);
    else if (creating) throw invalid('oidc.client_secret', 'is required');
    c.settings = s;
  }

  private async applySaml(c: SsoConnection, i: SamlInput | undefined): Promise<void> {
    const s: SsoSettings = { ...c.settings };
    let meta: IdpMetadata = {};
    if (i?.idpMetadataXml) meta = await parseIdpMetadata('saml.idp_metadata_xml', i.idpMetadataXml);
    const entityId = i?.idpEntityId || meta.entityId;
    const ssoUrl = i?.idpSsoUrl || meta.ssoUrl;
    const cert = i?.idpCertificate || meta.certificate;
    if (entityId) s.idpEntityId = entityId.trim();
    if (ssoUrl) s.idpSsoUrl = this.url('saml.idp_sso_url', ssoUrl);
    if (cert) s.idpCertificate = normalizeCertificate('saml.idp_certificate', cert);
    if (i?.wantResponseSigned !== undefined) s.wantResponseSigned = i.wantResponseSigned;
    s.wantResponseSigned ??= false;
    if (!s.idpEntityId) throw invalid('saml.idp_entity_id', 'is required (or saml.idp_metadata_xml)');
    if (!s.idpSsoUrl) throw invalid('saml.idp_sso_url', 'is required (or saml.idp_metadata_xml)');
    if (!s.idpCertificate) throw invalid('saml.idp_certificate', 'is required (or saml.idp_metadata_xml)');
    c.settings = s;
  }

  async create(organizationId: string, kind: SsoKind, input: ConnectionInput, actor: Actor): Promise<ConnectionView> {
    if (kind !== 'oidc' && kind !== 'saml') throw invalid('kind', 'must be OIDC or SAML');
    const name = (input.name ?? '').trim();
    if (!name) throw invalid('name', 'is required');
    if ((await this.em.count(SsoConnection, { organizationId })) >= MAX_CONNECTIONS) throw invalid('organization_id', `has the most connections allowed (${MAX_CONNECTIONS})`);
    const c = this.em.create(SsoConnection, { organizationId, kind, name, enabled: input.enabled ?? true, defaultRole: input.defaultRole || 'member', settings: {}, secretSealed: null });
    if (kind === 'oidc') this.applyOidc(c, input.oidc, true);
    else await this.applySaml(c, input.saml);
    this.record(c, actor, 'sso.connection_created', { kind, name });
    await this.em.flush();
    return { connection: c, domains: [], hasSecret: !!c.secretSealed };
  }

  async list(organizationId: string): Promise<ConnectionView[]> {
    const items = await this.em.find(SsoConnection, { organizationId }, { orderBy: { id: 'asc' }, limit: MAX_CONNECTIONS, populate: ['secretSealed'] });
    const domains = items.length ? await this.em.find(SsoDomain, { connectionId: { $in: items.map((c) => c.id) } }, { orderBy: { domain: 'asc' } }) : [];
    return items.map((c) => ({ connection: c, domains: domains.filter((d) => d.connectionId === c.id), hasSecret: !!c.secretSealed }));
  }

  async get(organizationId: string, connectionId: string): Promise<ConnectionView> {
    const c = await this.find(organizationId, connectionId);
    return this.view(c);
  }

  async update(organizationId: string, connectionId: string, input: ConnectionInput, actor: Actor, role: Role): Promise<ConnectionView> {
    const c = await this.find(organizationId, connectionId);
    // The new settings are worked out on a copy first: who may change them depends on what changes.
    const next = { id: c.id, kind: c.kind, settings: { ...c.settings }, secretSealed: c.secretSealed } as SsoConnection;
    if (c.kind === 'oidc' && input.oidc) this.applyOidc(next, input.oidc, false);
    if (c.kind === 'saml' && input.saml) await this.applySaml(next, input.saml);
    // Whoever controls the IdP of a connection with a verified domain signs in as every account at
    // that domain, the organization's root_admins included: changing who the IdP is, or which of its
    // claims is the email, is the root_admin's (an admin's own connection, nothing proven yet, is theirs).
    const identity = IDENTITY_SETTINGS.filter((k) => next.settings[k] !== c.settings[k]);
    if (identity.length && role !== 'root_admin' && (await this.em.count(SsoDomain, { connectionId: c.id, verifiedAt: { $ne: null } }))) {
      throw forbidden(`Only a root_admin can change ${identity.join(', ')} of a connection with a verified domain: its identity provider signs in everyone at that domain`, 'ROLE_REQUIRED');
    }
    if (input.name !== undefined) {
      if (!input.name.trim()) throw invalid('name', 'is required');
      c.name = input.name.trim();
    }
    if (input.defaultRole) c.defaultRole = input.defaultRole;
    if (input.enabled !== undefined) c.enabled = input.enabled;
    c.settings = next.settings;
    c.secretSealed = next.secretSealed;
    // Names of the changed fields only: never their values (a secret among them).
    const given = (v: unknown) => v !== undefined && v !== '' && !(Array.isArray(v) && !v.length);
    const changed = Object.entries(input).flatMap(([k, v]) => (!given(v) ? [] : typeof v === 'object' ? Object.entries(v as object).flatMap(([f, x]) => (given(x) ? [`${k}.${f}`] : [])) : [k]));
    this.record(c, actor, 'sso.connection_updated', { changed });
    await this.em.flush();
    this.changed(organizationId);
    return this.view(c);
  }

  async delete(organizationId: string, connectionId: string, actor: Actor): Promise<void> {
    const c = await this.find(organizationId, connectionId);
    await this.em.nativeDelete(SsoDomain, { connectionId: c.id });
    this.record(c, actor, 'sso.connection_deleted', { name: c.name });
    this.em.remove(c);
    await this.em.flush();
    this.changed(organizationId);
  }

  async addDomain(organizationId: string, connectionId: string, rawDomain: string, ssoRequired: boolean, actor: Actor): Promise<SsoDomain> {
    const c = await this.find(organizationId, connectionId);
    const domain = normalizeDomain('domain', rawDomain);
    if (await this.em.count(SsoDomain, { domain })) throw conflict('This domain is already on an SSO connection');
    const d = this.em.create(SsoDomain, { connectionId: c.id, organizationId, domain, verificationToken: `latchkey-verify=${randomToken(24)}`, verifiedAt: null, ssoRequired });
    this.record(c, actor, 'sso.domain_added', { domain });
    try {
      await this.em.flush();
      this.changed(organizationId);
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException) throw conflict('This domain is already on an SSO connection');
      throw e;
    }
    return d;
  }

  async verifyDomain(organizationId: string, connectionId: string, rawDomain: string, actor: Actor): Promise<SsoDomain> {
    const { connection, domain } = await this.findDomain(organizationId, connectionId, rawDomain);
    if (domain.verifiedAt) return domain;
    const records = await this.d.resolver.txt(challengeName(domain.domain));
    if (!records.includes(domain.verificationToken)) {
      throw new DomainError('SSO_DOMAIN_UNVERIFIED', `No TXT record ${challengeName(domain.domain)} with the value "${domain.verificationToken}" was found; publish it and try again`);
    }
    domain.verifiedAt = this.d.clock.now();
    this.record(connection, actor, 'sso.domain_verified', { domain: domain.domain });
    await this.em.flush();
    this.changed(organizationId);
    return domain;
  }

  async updateDomain(organizationId: string, connectionId: string, rawDomain: string, ssoRequired: boolean | undefined, actor: Actor): Promise<SsoDomain> {
    const { connection, domain } = await this.findDomain(organizationId, connectionId, rawDomain);
    if (ssoRequired !== undefined && ssoRequired !== domain.ssoRequired) {
      domain.ssoRequired = ssoRequired;
      this.record(connection, actor, 'sso.domain_updated', { domain: domain.domain, ssoRequired });
      await this.em.flush();
      this.changed(organizationId);
    }
    return domain;
  }

  async removeDomain(organizationId: string, connectionId: string, rawDomain: string, actor: Actor): Promise<void> {
    const { connection, domain } = await this.findDomain(organizationId, connectionId, rawDomain);
    this.record(connection, actor, 'sso.domain_removed', { domain: domain.domain });
    this.em.remove(domain);
    await this.em.flush();
    this.changed(organizationId);
  }

  /** The connection an email signs in with: its domain verified on an enabled connection. */
  async route(email: string): Promise<Route | undefined> {
    const at = email.lastIndexOf('@');
    if (at < 0) return undefined;
    const name = domainOfEmail(email);
    if (!(await this.routed.get(name, async () => (await this.em.count(SsoDomain, { domain: name, verifiedAt: { $ne: null } })) > 0))) return undefined;
    const domain = await this.em.findOne(SsoDomain, { domain: name, verifiedAt: { $ne: null } });
    if (!domain) return undefined;
    const connection = await this.em.findOne(SsoConnection, { id: domain.connectionId, enabled: true });
    return connection ? { connection, domain } : undefined;
  }

  /** Password and magic-link sign-in: refused for a domain whose organization requires SSO. */
  async assertPasswordAllowed(email: string, signInUrl: (r: Route, email: string) => string): Promise<void> {
    const r = await this.route((email ?? '').trim().toLowerCase());
    if (r?.domain.ssoRequired) {
      throw forbidden(`${r.domain.domain} signs in with single sign-on (${r.connection.name}) only: continue at ${signInUrl(r, email.trim().toLowerCase())}`, 'SSO_REQUIRED');
    }
  }

  /** An enabled connection by id, for the browser flows; undefined when unknown or disabled. */
  async enabled(connectionId: string): Promise<SsoConnection | undefined> {
    if (!/^[0-9A-Z]{26}$/.test(connectionId)) return undefined;
    return (await this.em.findOne(SsoConnection, { id: connectionId, enabled: true }, { populate: ['secretSealed'] })) ?? undefined;
  }

  /** True when the email's domain is a verified domain of this connection (the IdP may speak for it). */
  async vouchesFor(connection: SsoConnection, email: string): Promise<boolean> {
    return (await this.em.count(SsoDomain, { connectionId: connection.id, domain: domainOfEmail(email), verifiedAt: { $ne: null } })) > 0;
  }

  clientSecretOf(c: SsoConnection): string {
    if (!c.secretSealed) throw new DomainError('INTERNAL', 'SSO connection has no client secret');
    return open(this.d.sealKey, c.secretSealed, `sso-client-secret:${c.id}`);
  }

  private async find(organizationId: string, connectionId: string): Promise<SsoConnection> {
    const c = await this.em.findOne(SsoConnection, { id: connectionId, organizationId }, { populate: ['secretSealed'] });
    if (!c) throw notFound('SSO connection');
    return c;
  }

  private async findDomain(organizationId: string, connectionId: string, rawDomain: string): Promise<{ connection: SsoConnection; domain: SsoDomain }> {
    const connection = await this.find(organizationId, connectionId);
    const domain = await this.em.findOne(SsoDomain, { connectionId, domain: normalizeDomain('domain', rawDomain) });
    if (!domain) throw notFound('SSO domain');
    return { connection, domain };
  }

  private async view(c: SsoConnection): Promise<ConnectionView> {
    const domains = await this.em.find(SsoDomain, { connectionId: c.id }, { orderBy: { domain: 'asc' } });
    return { connection: c, domains, hasSecret: !!c.secretSealed };
  }

  private record(c: SsoConnection, actor: Actor, type: string, metadata: Record<string, unknown>): void {
    this.d.audit.record(this.em, { ...actor, organizationId: c.organizationId, type, targetType: 'sso_connection', targetId: c.id, metadata });
  }
}

/** A PEM certificate, from PEM or bare base64 DER; parsed so a typo is a 400 now, not a failed sign-in later. */
function normalizeCertificate(field: string, raw: string): string {
  const body = raw.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+=*$/.test(body)) throw invalid(field, 'must be a PEM or base64 X.509 certificate');
  const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  try {
    new X509Certificate(pem);
  } catch {
    throw invalid(field, 'is not a valid X.509 certificate');
  }
  return pem;
}
