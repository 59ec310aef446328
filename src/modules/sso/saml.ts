// Latchkey as a SAML 2.0 service provider (@node-saml/node-saml): an HTTP-Redirect AuthnRequest, an
// HTTP-POST response at the ACS. Assertions must be signed by the IdP's certificate (and the whole
// response too where the connection says so); issuer, audience, InResponseTo (a request this SP
// made, once), recipient, destination and time bounds (with a clock-skew allowance) are checked,
// and an assertion id is accepted only once (stored with its expiry).

import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { type CacheItem, type CacheProvider, SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import type { Clock } from '../common/clock.js';
import { type IdpIdentity, refused } from './oidc.js';
import type { SsoConnection } from './sso.entity.js';
import { SsoSeenId } from './sso.entity.js';

const REQUEST_TTL_MS = 10 * 60_000;
/** Assertion ids are remembered at least this long, and until the assertion itself expires. */
const MIN_REPLAY_WINDOW_MS = 60 * 60_000;
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const EMAIL_ATTRIBUTES = ['email', 'mail', 'emailAddress', 'urn:oid:0.9.2342.19200300.100.1.3', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'];
const NAME_ATTRIBUTES = ['name', 'displayName', 'cn', 'urn:oid:2.16.840.1.113730.3.1.241', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name'];

export interface SamlDeps {
  em: EntityManager;
  clock: Clock;
  publicUrl: () => string;
  clockSkewSeconds: number;
}

/** node-saml's request-id store, in the database so any replica can take the response. */
class RequestIds implements CacheProvider {
  constructor(
    private readonly d: SamlDeps,
    private readonly connectionId: string,
  ) {}

  private key(id: string) {
    return `request:${this.connectionId}:${id}`.slice(0, 400);
  }

  async saveAsync(id: string, value: string): Promise<CacheItem | null> {
    const now = this.d.clock.now();
    // Anyone may start a sign-in: expired request ids go as new ones come.
    await this.d.em.nativeDelete(SsoSeenId, { expiresAt: { $lt: now } });
    await this.d.em.insert(SsoSeenId, { key: this.key(id), value: value.slice(0, 64), expiresAt: new Date(now.getTime() + REQUEST_TTL_MS) });
    return { value, createdAt: now.getTime() };
  }

  async getAsync(id: string): Promise<string | null> {
    const row = await this.d.em.findOne(SsoSeenId, { key: this.key(id), expiresAt: { $gt: this.d.clock.now() } });
    return row?.value ?? null;
  }

  async removeAsync(id: string | null): Promise<string | null> {
    if (!id) return null;
    await this.d.em.nativeDelete(SsoSeenId, { key: this.key(id) });
    return id;
  }
}

export class SamlServiceProvider {
  constructor(private readonly d: SamlDeps) {}

  urls(connectionId: string) {
    const base = `${this.d.publicUrl()}/api/sso/saml/${connectionId}`;
    return { entityId: `${base}/metadata`, acsUrl: `${base}/acs`, metadataUrl: `${base}/metadata` };
  }

  private saml(c: SsoConnection): SAML {
    const s = c.settings;
    const { entityId, acsUrl } = this.urls(c.id);
    return new SAML({
      entryPoint: s.idpSsoUrl,
      issuer: entityId,
      callbackUrl: acsUrl,
      audience: entityId,
      idpCert: s.idpCertificate!,
      idpIssuer: s.idpEntityId,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: !!s.wantResponseSigned,
      acceptedClockSkewMs: this.d.clockSkewSeconds * 1000,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: REQUEST_TTL_MS,
      cacheProvider: new RequestIds(this.d, c.id),
      identifierFormat: EMAIL_FORMAT,
      disableRequestedAuthnContext: true,
    });
  }

  /** Service-provider metadata for the IdP's administrator. */
  metadata(c: SsoConnection): string {
    return this.saml(c).generateServiceProviderMetadata(null, null);
  }

  /** The IdP URL carrying a new AuthnRequest (its id kept for InResponseTo). */
  start(c: SsoConnection): Promise<string> {
    return this.saml(c).getAuthorizeUrlAsync('', undefined, {});
  }

  async finish(c: SsoConnection, samlResponse: string): Promise<IdpIdentity> {
    let profile: Awaited<ReturnType<SAML['validatePostResponseAsync']>>['profile'];
    try {
      ({ profile } = await this.saml(c).validatePostResponseAsync({ SAMLResponse: samlResponse }));
    } catch (e) {
      throw refused(`the SAML response was not accepted (${samlReason(e)})`);
    }
    if (!profile) throw refused('the SAML response has no assertion');
    const { acsUrl } = this.urls(c.id);
    // Recipient and Destination: node-saml checks neither, and an assertion for another SP's ACS must not sign in here.
    const assertion = (profile.getAssertion?.() as { Assertion?: SamlNode } | undefined)?.Assertion;
    const confirmations = first(assertion?.Subject)?.SubjectConfirmation ?? [];
    const recipients = confirmations.map((sc) => first(sc.SubjectConfirmationData)?.$?.Recipient);
    if (!recipients.length || recipients.some((r) => r !== acsUrl)) throw refused('the assertion is addressed to another recipient');
    const destination = /<(?:\w+:)?Response\b[^>]*\bDestination="([^"]*)"/.exec(profile.getSamlResponseXml?.() ?? '')?.[1];
    if (destination !== undefined && destination !== acsUrl) throw refused('the response is addressed to another destination');
    const id = assertion?.$?.ID;
    if (!id) throw refused('the assertion has no id');
    await this.spend(c.id, id, assertion);
    const attrs = profile as Record<string, unknown>;
    const pick = (names: string[]) => names.map((n) => attrs[n]).find((v) => typeof v === 'string' && v) as string | undefined;
    const email = pick(EMAIL_ATTRIBUTES) ?? (profile.nameID?.includes('@') ? profile.nameID : undefined);
    if (!email) throw refused('the assertion has no email');
    return { email: email.trim().toLowerCase(), name: (pick(NAME_ATTRIBUTES) ?? '').slice(0, 200), subject: profile.nameID };
  }

  /** An assertion id is accepted once; the row outlives the assertion's own validity. */
  private async spend(connectionId: string, id: string, assertion: SamlNode | undefined): Promise<void> {
    const now = this.d.clock.now();
    const notOnOrAfter = Date.parse(first(assertion?.Conditions)?.$?.NotOnOrAfter ?? '');
    const until = Math.max(now.getTime() + MIN_REPLAY_WINDOW_MS, Number.isFinite(notOnOrAfter) ? notOnOrAfter + this.d.clockSkewSeconds * 1000 : 0);
    await this.d.em.nativeDelete(SsoSeenId, { expiresAt: { $lt: now } });
    try {
      await this.d.em.insert(SsoSeenId, { key: `assertion:${connectionId}:${id}`.slice(0, 400), value: 'used', expiresAt: new Date(until) });
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException) throw refused('this assertion was already used');
      throw e;
    }
  }
}

type SamlNode = { $?: Record<string, string>; [child: string]: SamlNode[] | Record<string, string> | undefined } & {
  Subject?: SamlNode[];
  SubjectConfirmation?: SamlNode[];
  SubjectConfirmationData?: SamlNode[];
  Conditions?: SamlNode[];
};
const first = (n: SamlNode[] | undefined): SamlNode | undefined => n?.[0];

/** A short, safe reason from node-saml's error (never the XML). */
function samlReason(e: unknown): string {
  const m = String((e as Error)?.message ?? '');
  if (/signature/i.test(m)) return 'invalid or missing signature';
  if (/audience/i.test(m)) return 'wrong audience';
  if (/InResponseTo/i.test(m)) return 'not a response to a request from this service';
  if (/expired|NotOnOrAfter|NotBefore|too early|too late|subject confirmation/i.test(m)) return 'expired or not yet valid';
  if (/issuer/i.test(m)) return 'unknown issuer';
  if (/status/i.test(m)) return 'the identity provider reported a failure';
  return 'malformed response';
}
