// Latchkey as an OpenID Connect relying party (openid-client): discovery, authorization code with
// PKCE (S256), state and nonce, and ID-token validation (signature, iss, aud, exp, nonce). What the
// browser must bring back (state, nonce, PKCE verifier) travels sealed in a short-lived cookie.
import * as oidc from 'openid-client';
import type { Clock } from '../common/clock.js';
import { unauthorized } from '../common/errors.js';
import type { SsoConnection } from './sso.entity.js';

/** What the callback needs to finish a sign-in the start route began. */
export interface PendingOidc {
  connectionId: string;
  state: string;
  nonce: string;
  verifier: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

export interface IdpIdentity {
  email: string;
  name: string;
  /** The IdP's subject (OIDC `sub`, SAML NameID): for the audit trail. */
  subject: string;
}

const PENDING_TTL_MS = 10 * 60_000;
const DISCOVERY_TTL_MS = 10 * 60_000;

export const refused = (why: string) => unauthorized(`Single sign-on failed: ${why}`, 'SSO_SIGN_IN_FAILED');

export interface OidcDeps {
  clock: Clock;
  redirectUri: () => string;
  clockSkewSeconds: number;
  allowInsecure: boolean;
  clientSecretOf: (c: SsoConnection) => string;
}

export class OidcRelyingParty {
  private readonly configs = new Map<string, { at: number; key: string; config: oidc.Configuration }>();

  constructor(private readonly d: OidcDeps) {}

  private async config(c: SsoConnection): Promise<oidc.Configuration> {
    const s = c.settings;
    // Changing the connection (issuer, client) changes updatedAt: a stale discovery is never used.
    const key = `${s.issuer}|${s.clientId}|${c.updatedAt.getTime()}`;
    const now = this.d.clock.now().getTime();
    const hit = this.configs.get(c.id);
    if (hit && hit.key === key && now - hit.at < DISCOVERY_TTL_MS) return hit.config;
    let config: oidc.Configuration;
    try {
      config = await oidc.discovery(new URL(s.issuer!), s.clientId!, { client_id: s.clientId!, [oidc.clockTolerance]: this.d.clockSkewSeconds }, oidc.ClientSecretBasic(this.d.clientSecretOf(c)), {
        // Also check the ID token's signature against the IdP's JWKS (not only TLS to the token endpoint).
        execute: this.d.allowInsecure ? [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks] : [oidc.enableNonRepudiationChecks],
        timeout: 10,
      });
    } catch {
      throw refused('the identity provider could not be reached');
    }
    if (this.configs.size > 1000) this.configs.clear();
    this.configs.set(c.id, { at: now, key, config });
    return config;
  }

  /** The IdP's authorization URL, and what the callback must get back. */
  async start(c: SsoConnection, loginHint?: string): Promise<{ url: string; pending: PendingOidc }> {
    const config = await this.config(c);
    const verifier = oidc.randomPKCECodeVerifier();
    const pending: PendingOidc = { connectionId: c.id, state: oidc.randomState(), nonce: oidc.randomNonce(), verifier, exp: this.d.clock.now().getTime() + PENDING_TTL_MS };
    const params: Record<string, string> = {
      redirect_uri: this.d.redirectUri(),
      scope: (c.settings.scopes ?? ['openid', 'email', 'profile']).join(' '),
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    };
    if (loginHint) params.login_hint = loginHint;
    return { url: oidc.buildAuthorizationUrl(config, params).href, pending };
  }

  /** Redeem the code at the IdP and validate the ID token; the identity it asserts. */
  async finish(c: SsoConnection, pending: PendingOidc, callbackUrl: URL): Promise<IdpIdentity> {
    if (pending.exp < this.d.clock.now().getTime()) throw refused('the sign-in took too long; start again');
    const config = await this.config(c);
    let claims: Record<string, unknown> | undefined;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const id = tokens.claims();
      claims = id;
      // Many IdPs keep email and name out of the ID token: ask the UserInfo endpoint (its `sub` must match).
      const emailClaim = c.settings.emailClaim ?? 'email';
      if (id && id[emailClaim] === undefined && config.serverMetadata().userinfo_endpoint) {
        claims = { ...(await oidc.fetchUserInfo(config, tokens.access_token, id.sub)), ...id };
      }
    } catch (e) {
      const err = e as { error?: string; code?: string; message?: string };
      throw refused(err.error === 'access_denied' ? 'the identity provider denied the sign-in' : `the identity provider's answer was not accepted (${err.code ?? err.error ?? 'invalid response'})`);
    }
    if (!claims) throw refused('no ID token');
    const email = claims[c.settings.emailClaim ?? 'email'];
    if (typeof email !== 'string' || !email.includes('@')) throw refused('the ID token has no email');
    // Only an address the IdP says it verified (absent claim = the IdP does not say otherwise).
    if (claims.email_verified === false) throw refused('the identity provider has not verified this email');
    const name = claims[c.settings.nameClaim ?? 'name'];
    return { email: email.trim().toLowerCase(), name: typeof name === 'string' ? name.slice(0, 200) : '', subject: String(claims.sub) };
  }
}
