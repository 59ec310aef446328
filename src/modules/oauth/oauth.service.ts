// OAuth clients of an organization, the grants (consents) of a user, and the console's half of the
// provider's sign-in and consent interaction. Clients live in oauth_records as the provider's own
// Client model (its secret as a SHA-256 only); grants are the provider's Grant model.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AdapterPayload } from 'oidc-provider';
import type { AuditLog } from '../audit/audit.service.js';
import type { Clock } from '../common/clock.js';
import { forbidden, invalid, notFound } from '../common/errors.js';
import { ulid } from '../common/ids.js';
import { randomToken } from '../common/secrets.js';
import type { OrgService } from '../org/org.service.js';
import { capScopes, type Role, rankAbove } from '../org/roles.js';
import type { OAuthStore } from './adapter.js';
import { hashClientSecret, OAUTH_SCOPES, type OAuthProvider } from './provider.js';
import type { OAuthTokenVerifier } from './verifier.js';

export type ClientType = 'confidential' | 'public' | 'machine';

export interface OAuthClientView {
  clientId: string;
  organizationId: string;
  name: string;
  type: ClientType;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  scopes: string[];
  createdBy: string;
  createdAt: Date;
}

export interface ClientInput {
  name: string;
  type: ClientType;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  scopes: string[];
}

export interface GrantView {
  grantId: string;
  clientId: string;
  clientName: string;
  scopes: string[];
  createdAt: Date;
}

export interface InteractionView {
  uid: string;
  clientId: string;
  clientName: string;
  scopes: string[];
  /** Scopes asked for that the user's role does not allow. */
  refusedScopes: string[];
  redirectUri: string;
  organizationId: string;
}

const CLIENT_ID_PREFIX = 'oc_';

/** Who acts, for the audit trail. */
export interface Actor {
  userId: string;
  ip: string;
  userAgent: string;
}

/** GATEWAY_POLICY's downstream scopes (its roles'): OAuth clients may hold and ask for them too. */
export interface DownstreamScopes {
  downstreamScopes(role?: Role): string[];
  /** Those of `scopes` the policy's roles let `role` have (Latchkey's own pass). */
  capDownstream(scopes: readonly string[], role: Role): string[];
}

export interface OAuthServiceDeps {
  em: EntityManager;
  store: OAuthStore;
  provider: OAuthProvider;
  verifier: OAuthTokenVerifier;
  orgs: OrgService;
  audit: AuditLog;
  clock: Clock;
  /** The gateway policy, when one is configured. */
  downstream?: DownstreamScopes;
}

const epoch = (d: Date) => Math.floor(d.getTime() / 1000);

function view(id: string, c: AdapterPayload): OAuthClientView {
  return {
    clientId: id,
    organizationId: String(c.organization_id ?? ''),
    name: c.client_name ?? '',
    type: c.grant_types?.includes('client_credentials') ? 'machine' : c.token_endpoint_auth_method === 'none' ? 'public' : 'confidential',
    redirectUris: [...(c.redirect_uris ?? [])],
    postLogoutRedirectUris: [...(c.post_logout_redirect_uris ?? [])],
    scopes: (c.scope ?? '').split(' ').filter(Boolean),
    createdBy: String(c.created_by ?? ''),
    createdAt: new Date(Number(c.client_id_issued_at ?? 0) * 1000),
  };
}

function checkUris(field: string, uris: string[], required: boolean): void {
  if (required && uris.length === 0) throw invalid(field, 'at least one redirect URI is required');
  for (const u of uris) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw invalid(field, `"${u.slice(0, 100)}" is not an absolute URL`);
    }
    if (url.hash) throw invalid(field, 'must not have a fragment');
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    if (url.protocol === 'http:' && !loopback) throw invalid(field, 'http is allowed only for loopback addresses; use https');
    if (url.protocol !== 'http:' && url.protocol !== 'https:' && !/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol))
      throw invalid(field, 'must be https, loopback http, or a private-use scheme (com.example.app:)');
  }
}

export class OAuthService {
  /** The resource's scopes: Latchkey's own and the gateway policy's downstream ones. */
  private readonly api: ReadonlySet<string>;

  constructor(private readonly d: OAuthServiceDeps) {
    this.api = new Set(d.provider.apiScopes);
  }

  /**
   * The scopes a role may grant to a client: Latchkey's own are capped by it, the gateway's downstream
   * ones by the policy's roles (as the gateway caps an API key's); OpenID's pass.
   */
  private capped(scopes: string[], role: Role): { allowed: string[]; refused: string[] } {
    const api = scopes.filter((s) => this.api.has(s));
    const own = api.filter((s) => OAUTH_SCOPES.includes(s));
    const downstream = api.filter((s) => !OAUTH_SCOPES.includes(s));
    const allowed = [...capScopes(own, role), ...(this.d.downstream?.capDownstream(downstream, role) ?? [])];
    return { allowed: [...scopes.filter((s) => !this.api.has(s)), ...allowed], refused: api.filter((s) => !allowed.includes(s)) };
  }

  /** The scopes a client may be given by `role`: known ones only (the resource's for a machine client), none above the role. */
  private grantable(requested: string[], machine: boolean, role: Role): string[] {
    const scopes = [...new Set(requested)];
    for (const s of scopes) if (!this.api.has(s) && !['openid', 'offline_access', 'profile', 'email'].includes(s)) throw invalid('scopes', `unknown scope "${s.slice(0, 64)}"`);
    if (machine && scopes.some((s) => !this.api.has(s))) throw invalid('scopes', 'a machine client gets API scopes only (no openid, offline_access, profile, email)');
    const { refused } = this.capped(scopes, role);
    if (refused.length) throw forbidden(`Your role cannot grant ${refused.join(', ')}`, 'SCOPE_MISSING');
    return scopes;
  }

  async create(actor: Actor, organizationId: string, role: Role, input: ClientInput): Promise<{ client: OAuthClientView; secret?: string }> {
    const scopes = this.grantable(input.scopes, input.type === 'machine', role);
    checkUris('redirect_uris', input.redirectUris, input.type !== 'machine');
    checkUris('post_logout_redirect_uris', input.postLogoutRedirectUris, false);
    const clientId = `${CLIENT_ID_PREFIX}${ulid().toLowerCase()}`;
    const secret = input.type === 'public' ? undefined : `lkcs_${randomToken(32)}`;
    const payload: AdapterPayload = {
      client_id: clientId,
      client_id_issued_at: epoch(this.d.clock.now()),
      client_name: input.name,
      organization_id: organizationId,
      created_by: actor.userId,
      scope: scopes.join(' ') || undefined,
      ...(input.type === 'machine'
        ? { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', client_secret: hashClientSecret(secret!) }
        : {
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            redirect_uris: input.redirectUris,
            post_logout_redirect_uris: input.postLogoutRedirectUris,
            token_endpoint_auth_method: input.type === 'public' ? 'none' : 'client_secret_basic',
            ...(secret ? { client_secret: hashClientSecret(secret) } : {}),
          }),
    };
    await this.d.store.upsert('Client', clientId, payload);
    this.d.audit.record(this.d.em, {
      type: 'oauth_client.created',
      organizationId,
      actorType: 'user',
      actorId: actor.userId,
      ip: actor.ip,
      userAgent: actor.userAgent,
      targetType: 'oauth_client',
      targetId: clientId,
      metadata: { name: input.name, clientType: input.type, scopes },
    });
    await this.d.em.flush();
    return { client: view(clientId, payload), secret };
  }

  async list(organizationId: string): Promise<OAuthClientView[]> {
    return (await this.d.store.findByPayload('Client', 'organization_id', organizationId)).map((r) => view(r.id, r.payload));
  }

  private async payloadOf(organizationId: string, clientId: string): Promise<AdapterPayload> {
    const c = clientId.startsWith(CLIENT_ID_PREFIX) || clientId.length <= 64 ? await this.d.store.find('Client', 'id', clientId) : undefined;
    if (!c || c.organization_id !== organizationId) throw notFound('OAuth client');
    return c;
  }

  async get(organizationId: string, clientId: string): Promise<OAuthClientView> {
    return view(clientId, await this.payloadOf(organizationId, clientId));
  }

  async update(
    organizationId: string,
    clientId: string,
    role: Role,
    changes: { name?: string; redirectUris?: string[]; postLogoutRedirectUris?: string[]; scopes?: string[] },
  ): Promise<OAuthClientView> {
    const c = await this.payloadOf(organizationId, clientId);
    const machine = !!c.grant_types?.includes('client_credentials');
    // As for an API key: nobody changes a client whose creator now ranks above them (a machine
    // client's tokens act as its creator, a user client's redirect URIs receive its users' codes).
    const creator = c.created_by ? await this.d.orgs.roleOf(String(c.created_by), organizationId) : undefined;
    if (creator && rankAbove(creator, role)) throw forbidden("You cannot change an OAuth client whose creator's role is above yours", 'ROLE_ABOVE_CALLER');
    if (changes.scopes) c.scope = this.grantable(changes.scopes, machine, role).join(' ') || undefined;
    if (changes.name !== undefined) c.client_name = changes.name;
    if (changes.redirectUris && !machine) {
      checkUris('redirect_uris', changes.redirectUris, true);
      c.redirect_uris = changes.redirectUris;
    }
    if (changes.postLogoutRedirectUris && !machine) {
      checkUris('post_logout_redirect_uris', changes.postLogoutRedirectUris, false);
      c.post_logout_redirect_uris = changes.postLogoutRedirectUris;
    }
    await this.d.store.upsert('Client', clientId, c);
    this.d.verifier.forget({ clientId });
    return view(clientId, c);
  }

  async delete(actor: Actor, organizationId: string, clientId: string): Promise<void> {
    await this.payloadOf(organizationId, clientId);
    await this.d.store.destroy('Client', clientId);
    await this.d.store.destroyOfClient(clientId); // its grants, codes and refresh tokens
    this.d.verifier.forget({ clientId });
    this.d.audit.record(this.d.em, {
      type: 'oauth_client.deleted',
      organizationId,
      actorType: 'user',
      actorId: actor.userId,
      ip: actor.ip,
      userAgent: actor.userAgent,
      targetType: 'oauth_client',
      targetId: clientId,
      metadata: {},
    });
    await this.d.em.flush();
  }

  async grantsOf(userId: string): Promise<GrantView[]> {
    const rows = await this.d.store.findByPayload('Grant', 'accountId', userId);
    const out: GrantView[] = [];
    for (const g of rows) {
      const clientId = String(g.payload.clientId ?? '');
      const client = await this.d.store.find('Client', 'id', clientId);
      const p = g.payload as AdapterPayload & { openid?: { scope?: string }; resources?: Record<string, string> };
      const scopes = new Set((p.openid?.scope ?? '').split(' ').filter(Boolean));
      for (const r of Object.values(p.resources ?? {})) for (const s of r.split(' ')) if (s) scopes.add(s);
      out.push({ grantId: g.id, clientId, clientName: client?.client_name ?? clientId, scopes: [...scopes], createdAt: new Date(Number(p.iat ?? 0) * 1000) });
    }
    return out;
  }

  async revokeGrant(actor: Actor, grantId: string): Promise<void> {
    const g = grantId.length <= 255 ? await this.d.store.find('Grant', 'id', grantId) : undefined;
    const userId = actor.userId;
    if (!g || g.accountId !== userId) throw notFound('Grant');
    await this.d.store.revokeByGrantId(grantId);
    await this.d.store.destroy('Grant', grantId);
    this.d.verifier.forget({ grantId });
    const client = await this.d.store.find('Client', 'id', String(g.clientId));
    const organizationId = client?.organization_id as string | undefined;
    if (organizationId)
      this.d.audit.record(this.d.em, {
        type: 'oauth_consent.revoked',
        organizationId,
        actorType: 'user',
        actorId: userId,
        ip: actor.ip,
        userAgent: actor.userAgent,
        targetType: 'oauth_grant',
        targetId: grantId,
        metadata: { clientId: g.clientId },
      });
    await this.d.em.flush();
  }

  /** The organization a user's consent acts in (the one named, else their first) and their role there. */
  private async actingIn(userId: string, organizationId?: string): Promise<{ organizationId: string; role: Role }> {
    let org = organizationId;
    if (!org) {
      const rows = await this.d.em.execute<{ organization_id: string }[]>('select organization_id from memberships where user_id = ? order by organization_id limit 1', [userId]);
      org = rows[0]?.organization_id;
    }
    const role = org && /^[0-9A-Z]{26}$/.test(org) ? await this.d.orgs.roleOf(userId, org) : undefined;
    if (!org || !role) throw notFound('Organization');
    return { organizationId: org, role };
  }

  private async interaction(uid: string) {
    const provider = await this.d.provider.provider();
    const i = /^[\w-]{1,64}$/.test(uid) ? await provider.Interaction.find(uid) : undefined;
    if (!i) throw notFound('Authorization request (it may have expired: start again from the application)');
    const client = await provider.Client.find(String(i.params.client_id));
    if (!client) throw notFound('OAuth client');
    return { provider, i, client };
  }

  async describe(userId: string, uid: string, organizationId?: string): Promise<InteractionView> {
    const { i, client } = await this.interaction(uid);
    const scopes = String(i.params.scope ?? '')
      .split(' ')
      .filter(Boolean);
    const acting = await this.actingIn(userId, organizationId);
    const { refused } = this.capped(scopes, acting.role);
    return {
      uid,
      clientId: client.clientId,
      clientName: client.clientName ?? client.clientId,
      scopes,
      refusedScopes: refused,
      redirectUri: String(i.params.redirect_uri ?? ''),
      organizationId: acting.organizationId,
    };
  }

  /** The user's answer: signs the user in to the provider and records the consent; returns where the browser goes next. */
  async complete(actor: Actor, uid: string, approve: boolean, organizationId?: string): Promise<string> {
    const { provider, i, client } = await this.interaction(uid);
    const userId = actor.userId;
    const scopes = String(i.params.scope ?? '')
      .split(' ')
      .filter(Boolean);
    const login = { accountId: userId };
    let result: Record<string, unknown>;
    const acting = await this.actingIn(userId, organizationId);
    const { refused } = this.capped(scopes, acting.role);
    if (!approve) result = { login, error: 'access_denied', error_description: 'The user denied the request' };
    else if (refused.length) result = { login, error: 'invalid_scope', error_description: `The user's role does not allow ${refused.join(', ')}` };
    else {
      const existing = i.grantId && i.session?.accountId === userId ? await provider.Grant.find(i.grantId) : undefined;
      const grant = existing ?? new provider.Grant({ accountId: userId, clientId: client.clientId });
      // Latchkey's scopes and the gateway's are both provider scopes (asked in `scope`) and the resource's (in the token).
      const api = scopes.filter((s) => this.api.has(s));
      if (scopes.length) grant.addOIDCScope(scopes.join(' '));
      const resources = i.params.resource ? [i.params.resource].flat().map(String) : [this.d.provider.resource()];
      for (const r of resources) if (api.length) grant.addResourceScope(r, api.join(' '));
      const grantId = await grant.save();
      // The organization chosen on the consent page: the grant's tokens carry it (org_id) and act only there.
      await this.d.store.upsert('GrantOrganization', grantId, { grantId, organization_id: acting.organizationId });
      const organizationId = client.metadata().organization_id as string | undefined;
      if (organizationId)
        this.d.audit.record(this.d.em, {
          type: 'oauth_consent.granted',
          organizationId,
          actorType: 'user',
          actorId: userId,
          ip: actor.ip,
          userAgent: actor.userAgent,
          targetType: 'oauth_grant',
          targetId: grantId,
          metadata: { clientId: client.clientId, scopes },
        });
      await this.d.em.flush();
      result = { login, consent: { grantId } };
    }
    i.result = result as never;
    await i.save(Math.max(1, (i.exp ?? 0) - epoch(this.d.clock.now())));
    return i.returnTo;
  }
}
