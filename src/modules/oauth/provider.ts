// panva's oidc-provider on Latchkey's one port: issuer PUBLIC_URL, discovery at the root
// (/.well-known/openid-configuration and its RFC 8414 alias), every endpoint under /oauth/, the JWKS
// at Latchkey's own /.well-known/jwks.json. Latchkey is the account store, oauth_records the storage,
// the signing-key store the keys: a new signing key (rotation) builds a new provider instance.

import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import { sha256 } from '../common/secrets.js';
import type { SigningKeys } from '../token/signing-keys.js';
import type { OAuthStore } from './adapter.js';
import { isOAuthJwt, type OAuthTokenVerifier } from './verifier.js';

const OAUTH_PREFIX = '/oauth/';
/** Where the provider sends the browser to sign in and consent: a console page. */
const CONSENT_PATH = '/oauth-consent/';
const DISCOVERY = '/.well-known/openid-configuration';
const AS_METADATA = '/.well-known/oauth-authorization-server';
const PR_METADATA = '/.well-known/oauth-protected-resource';

/** Every Latchkey scope a client may ask for, besides OpenID's own. */
export const OAUTH_SCOPES = ['user:read', 'user:write', 'orgs:read', 'orgs:write', 'members:read', 'members:write', 'api-keys:read', 'api-keys:write', 'audit:read'];
const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email'];

export type RegistrationMode = 'off' | 'token' | 'open';

interface AccountClaims {
  sub: string;
  email: string;
  email_verified: boolean;
  name: string;
}

export interface OAuthProviderOptions {
  store: OAuthStore;
  keys: SigningKeys;
  log: Logger;
  /** PUBLIC_URL, read at each use. */
  issuer: () => string;
  /** Cookie signing key (derived from SECRET). */
  cookieKey: Buffer;
  account(userId: string): Promise<AccountClaims | undefined>;
  registration: RegistrationMode;
  /** The initial access token registration requires in `token` mode. */
  registrationToken?: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Extra resource indicators (RFC 8707) tokens may be issued for, besides PUBLIC_URL itself. */
  resources: string[];
  /** The gateway policy's downstream scopes (GATEWAY_POLICY's roles), asked for and granted as Latchkey's are. */
  downstreamScopes: string[];
  /** A client's owner: the organization whose client_credentials tokens it gets. */
  clientOrganization(clientId: string): Promise<string | undefined>;
  /** Runs a provider request in its own ORM context (a forked EntityManager), as RPCs run. */
  inContext<T>(fn: () => Promise<T>): Promise<T>;
  /** Checks the provider's JWT access tokens, which it does not store itself. */
  verifier: OAuthTokenVerifier;
}

/** Client secrets are stored as their SHA-256: the presented secret is hashed before the provider compares. */
export const hashClientSecret = (secret: string): string => sha256(secret);

export class OAuthProvider {
  private current?: { key: string; provider: Provider; callback: ReturnType<Provider['callback']> };
  private building?: Promise<Provider>;

  /** The scopes of the resource (Latchkey's API and the gateway's routes): Latchkey's own, then the policy's downstream ones. */
  readonly apiScopes: readonly string[];

  constructor(private readonly o: OAuthProviderOptions) {
    this.apiScopes = [...new Set([...OAUTH_SCOPES, ...o.downstreamScopes])];
  }

  /** The provider for the current issuer and signing key (built on first use and after a rotation). */
  async provider(): Promise<Provider> {
    const jwk = await this.o.keys.signingJwk();
    const key = `${this.o.issuer()} ${jwk.kid}`;
    if (this.current?.key === key) return this.current.provider;
    this.building ??= this.build(key, jwk).finally(() => (this.building = undefined));
    return this.building;
  }

  /** The resource indicator of Latchkey's own API: PUBLIC_URL. */
  resource(): string {
    return this.o.issuer();
  }

  /** Serves the request when its path is the provider's; false otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    if (path === PR_METADATA) return this.protectedResource(req, res);
    if (path === AS_METADATA) req.url = DISCOVERY + (req.url?.slice(AS_METADATA.length) ?? '');
    else if (path !== DISCOVERY && !path.startsWith(OAUTH_PREFIX)) return false;
    await this.provider();
    const callback = this.current!.callback;
    await this.o.inContext(() => callback(req, res));
    return true;
  }

  /** RFC 9728: the protected resource (Latchkey's API) and the server that issues its tokens. */
  private protectedResource(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const issuer = this.o.issuer();
    const body = JSON.stringify({
      resource: issuer,
      authorization_servers: [issuer],
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      scopes_supported: this.apiScopes,
      bearer_methods_supported: ['header'],
      resource_signing_alg_values_supported: ['EdDSA'],
    });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300', 'access-control-allow-origin': '*' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  private async build(key: string, jwk: Awaited<ReturnType<SigningKeys['signingJwk']>>): Promise<Provider> {
    const provider = new Provider(this.o.issuer(), this.configuration(jwk));
    provider.proxy = false;
    provider.use(hashPresentedSecret);
    provider.use(registrationProfile(this.o.registration));
    provider.use(structuredTokens(this.o.verifier, this.o.issuer));
    // Reuse detection (a replayed refresh token or code) revokes the grant inside the provider.
    provider.on('grant.revoked', (_ctx: unknown, grantId: string) => this.o.verifier.forget({ grantId }));
    provider.on('server_error', (_ctx: unknown, err: Error) => this.o.log.error({ err }, 'oauth provider error'));
    this.current = { key, provider, callback: provider.callback() };
    return provider;
  }

  private configuration(jwk: Awaited<ReturnType<SigningKeys['signingJwk']>>): Configuration {
    const o = this.o;
    const store = o.store;
    const resources = new Set([o.issuer(), ...o.resources]);
    const api = this.apiScopes;
    return {
      adapter: (name: string) => store.adapter(name),
      jwks: { keys: [jwk as never] },
      cookies: { keys: [createHmac('sha256', o.cookieKey).update('oauth-cookies').digest('base64url')] },
      findAccount: async (_ctx, sub) => {
        const claims = await o.account(sub);
        return claims && { accountId: sub, claims: () => ({ ...claims }) };
      },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      scopes: [...OIDC_SCOPES, ...this.apiScopes],
      responseTypes: ['code'],
      pkce: { required: () => true },
      clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
      clientDefaults: { grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], id_token_signed_response_alg: 'EdDSA', token_endpoint_auth_method: 'client_secret_basic' },
      enabledJWA: {
        idTokenSigningAlgValues: ['EdDSA'],
        userinfoSigningAlgValues: ['EdDSA'],
        introspectionSigningAlgValues: ['EdDSA'],
        requestObjectSigningAlgValues: ['EdDSA'],
        authorizationSigningAlgValues: ['EdDSA'],
      },
      extraClientMetadata: { properties: ['organization_id', 'created_by'] },
      routes: {
        authorization: '/oauth/authorize',
        token: '/oauth/token',
        userinfo: '/oauth/userinfo',
        introspection: '/oauth/introspect',
        revocation: '/oauth/revoke',
        end_session: '/oauth/logout',
        registration: '/oauth/register',
        jwks: '/.well-known/jwks.json', // Latchkey's own JWKS (the REST route answers it): the same keys
        pushed_authorization_request: '/oauth/par',
        code_verification: '/oauth/device',
        device_authorization: '/oauth/device/auth',
        backchannel_authentication: '/oauth/backchannel',
        challenge: '/oauth/challenge',
        credential: '/oauth/credential',
      },
      interactions: { url: (_ctx, interaction) => `${CONSENT_PATH}${interaction.uid}` },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        revocation: { enabled: true },
        userinfo: { enabled: true },
        rpInitiatedLogout: { enabled: true },
        registration: o.registration === 'off' ? { enabled: false } : { enabled: true, initialAccessToken: o.registration === 'token' ? o.registrationToken! : false },
        resourceIndicators: {
          enabled: true,
          // Machine clients always get a token for Latchkey's API; a user flow without `resource`
          // gets an opaque token for the userinfo endpoint only (OpenID's own use).
          defaultResource: (ctx, _client, oneOf) => oneOf ?? (ctx.oidc.params?.grant_type === 'client_credentials' ? o.issuer() : undefined),
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, resource) => {
            if (!resources.has(resource)) throw new errors.InvalidTarget();
            return { scope: api.join(' '), audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: o.accessTokenTtlSeconds, jwt: { sign: { alg: 'EdDSA' } } };
          },
        },
      },
      // Machine tokens carry their organization (RFC 9068 plus Latchkey's org_id claim).
      extraTokenClaims: async (ctx, token) => {
        if (token.kind === 'AccessToken') {
          const org = token.grantId ? (await store.find('GrantOrganization', 'id', token.grantId))?.organization_id : undefined;
          return { gid: token.grantId, ...(org ? { org_id: org } : {}) };
        }
        if (token.kind !== 'ClientCredentials') return undefined;
        // The authenticated client is at hand; only a token issued outside a request looks it up.
        const org = (ctx.oidc?.client?.metadata().organization_id as string | undefined) ?? (await o.clientOrganization(token.clientId!));
        return org ? { org_id: org } : undefined;
      },
      issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && [...code.scopes].some((s) => s === 'offline_access' || s === 'openid' || api.includes(s)),
      rotateRefreshToken: true,
      expiresWithSession: async () => false,
      // Consent granted once is remembered: a grant of this user for this client is reused from any browser.
      loadExistingGrant: async (ctx) => {
        const id = ctx.oidc.result?.consent?.grantId || ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
        if (id) return ctx.oidc.provider.Grant.find(id);
        const accountId = ctx.oidc.session?.accountId;
        if (!accountId) return undefined;
        const mine = (await store.findByPayload('Grant', 'accountId', accountId)).find((g) => g.payload.clientId === ctx.oidc.client!.clientId);
        return mine ? ctx.oidc.provider.Grant.find(mine.id) : undefined;
      },
      ttl: {
        AuthorizationCode: 60,
        AccessToken: o.accessTokenTtlSeconds,
        ClientCredentials: o.accessTokenTtlSeconds,
        IdToken: 3600,
        Interaction: 600,
        RefreshToken: o.refreshTokenTtlSeconds,
        Session: 14 * 86_400,
        Grant: 365 * 86_400,
      },
      renderError: async (ctx, out) => {
        ctx.type = 'html';
        const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
        ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization error</title></head><body><main><h1>Authorization error</h1><p>${esc(out.error)}: ${esc(out.error_description)}</p></main></body></html>`;
      },
    };
  }
}

/** The presented client secret (Basic or form body) is replaced by its hash, which is what the store holds. */
async function hashPresentedSecret(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  if (ctx.method === 'POST' && /^\/oauth\/(token|introspect|revoke|par)$/.test(ctx.path)) {
    const auth = ctx.get('authorization');
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth);
    if (basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i >= 0) {
        let secret = decoded.slice(i + 1);
        try {
          secret = decodeURIComponent(secret.replace(/\+/g, ' '));
        } catch {
          // left as sent: the provider refuses the malformed value itself
        }
        ctx.req.headers.authorization = `Basic ${Buffer.from(`${decoded.slice(0, i)}:${hashClientSecret(secret)}`).toString('base64')}`;
      }
    }
    if (ctx.is('application/x-www-form-urlencoded')) {
      const raw = await readRaw(ctx.req, 64 * 1024);
      const form = Object.fromEntries(new URLSearchParams(raw));
      if (typeof form.client_secret === 'string') form.client_secret = hashClientSecret(form.client_secret);
      (ctx.req as IncomingMessage & { body?: unknown }).body = form;
    }
  }
  await next();
}

function readRaw(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        req.destroy();
        return reject(new errors.InvalidRequest('request body too large'));
      }
      chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/**
 * The provider keeps no record of JWT access tokens, so its introspection answers them inactive and
 * its revocation cannot end them: for the client the token was issued to, Latchkey answers instead
 * (introspection from the token and its grant/client state; revocation into a denylist).
 */
function structuredTokens(verifier: OAuthTokenVerifier, issuer: () => string) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    const route = ctx.oidc?.route;
    if (route !== 'introspection' && route !== 'revocation') return;
    // The provider refuses JWTs (unsupported_token_type) only after the client authenticated.
    if ((ctx.body as { error?: string } | undefined)?.error !== 'unsupported_token_type') return;
    const token = ctx.oidc.params?.token;
    const client = ctx.oidc.client;
    if (typeof token !== 'string' || !client) return;
    let t: Awaited<ReturnType<OAuthTokenVerifier['check']>> | undefined;
    try {
      if (isOAuthJwt(token)) t = await verifier.check(token);
    } catch {
      // expired, revoked, not ours: inactive, and nothing to revoke
    }
    // RFC 7662/7009: only the client the token was issued to learns about it or ends it.
    if (t && t.clientId !== client.clientId) t = undefined;
    ctx.status = 200;
    if (route === 'revocation') {
      if (t) await verifier.revoke(t);
      ctx.body = '';
      return;
    }
    ctx.body = t
      ? {
          active: true,
          token_type: 'Bearer',
          client_id: t.clientId,
          sub: t.machine ? t.clientId : t.userId,
          scope: t.scopes.join(' '),
          exp: t.expiresAt,
          iat: t.issuedAt,
          iss: issuer(),
          aud: issuer(),
          jti: t.jti,
          ...(t.organizationId ? { org_id: t.organizationId } : {}),
        }
      : { active: false };
  };
}

/** Dynamic registration (RFC 7591) makes public clients only: no secret the provider would store in plaintext. */
function registrationProfile(mode: RegistrationMode) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    if (mode !== 'off' && ctx.method === 'POST' && ctx.path === '/oauth/register' && ctx.is('application/json')) {
      const raw = await readRaw(ctx.req, 64 * 1024);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw);
      } catch {
        body = {};
      }
      if (body && typeof body === 'object') {
        body.token_endpoint_auth_method ??= 'none';
        if (body.token_endpoint_auth_method !== 'none') {
          ctx.status = 400;
          ctx.body = { error: 'invalid_client_metadata', error_description: 'dynamic registration makes public clients only (token_endpoint_auth_method "none")' };
          return;
        }
        // Fields only Latchkey sets (owner, creator) are never taken from the request.
        delete body.organization_id;
        delete body.created_by;
        body.grant_types ??= ['authorization_code', 'refresh_token'];
      }
      (ctx.req as IncomingMessage & { body?: unknown }).body = body;
    }
    await next();
  };
}
