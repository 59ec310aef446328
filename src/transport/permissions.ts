// One table: what each RPC needs. The authn interceptor enforces it the same way for
// sessions, JWTs and API keys.
import type { Role, Scope } from '../modules/org/roles.js';

/**
 * tenant: where the organization a call acts in comes from —
 *  'path'   organization_id is a request field (from the REST path or the message);
 *  'header' orgid / x-organization-id header (or the key's organization);
 *  'none'   not tenant-scoped.
 * The tenancy interceptor resolves that organization and checks minRole (default member) there.
 */
export type Access =
  | { auth: 'public' }
  | { auth: 'user'; scope: Scope; minRole?: Role; tenant: 'none' | 'path' | 'header' } & TenantRules;

export interface TenantRules {
  /** A list over a tenant the caller is not in answers an empty list instead of NOT_FOUND (seed 000). */
  foreign?: 'empty';
  /** A partner API (/v2/partner/*): client keys are refused. */
  partnerApi?: true;
}

const pub: Access = { auth: 'public' };
const user = (scope: Scope, tenant: 'none' | 'path' | 'header' = 'none', minRole?: Role, rules: TenantRules = {}): Access => ({ auth: 'user', scope, tenant, minRole, ...rules });

export const PERMISSIONS: Record<string, Access> = {
  'grpc.health.v1.Health.Check': pub,
  'grpc.health.v1.Health.Watch': pub,

  'latchkey.v1.AuthService.SignUp': pub,
  'latchkey.v1.AuthService.VerifyEmail': pub,
  'latchkey.v1.AuthService.SignIn': pub,
  'latchkey.v1.AuthService.SignOut': user('user:read'),
  'latchkey.v1.AuthService.RequestMagicLink': pub,
  'latchkey.v1.AuthService.RedeemMagicLink': pub,
  'latchkey.v1.AuthService.RefreshAccessToken': pub,
  'latchkey.v1.AuthService.RequestPasswordReset': pub,
  'latchkey.v1.AuthService.ResetPassword': pub,
  'latchkey.v1.AuthService.GetMe': user('user:read'),
  'latchkey.v1.AuthService.ListSessions': user('user:read'),
  'latchkey.v1.AuthService.RevokeSession': user('user:write'),
  'latchkey.v1.AuthService.UpdateMe': user('user:write'),
  'latchkey.v1.AuthService.GetPasswordStatus': user('user:read'),
  'latchkey.v1.AuthService.SetPassword': user('user:write'), // the handler refuses API keys and tokens exchanged from them

  'latchkey.v1.OrgService.ListMyOrganizations': user('orgs:read'),
  'latchkey.v1.OrgService.CreateOrganization': user('orgs:write'),
  'latchkey.v1.OrgService.GetOrganization': user('orgs:read', 'path'),
  'latchkey.v1.OrgService.UpdateOrganization': user('orgs:write', 'path', 'admin'),
  'latchkey.v1.OrgService.DeleteOrganization': user('orgs:write', 'path', 'root_admin'),
  'latchkey.v1.OrgService.ListMembers': user('members:read', 'path'),
  'latchkey.v1.OrgService.UpdateMemberRole': user('members:write', 'path', 'admin'),
  'latchkey.v1.OrgService.RemoveMember': user('members:write', 'path'), // members may leave; removing others needs admin (service)
  'latchkey.v1.OrgService.InviteMember': user('members:write', 'path', 'admin'),
  'latchkey.v1.OrgService.ListInvitations': user('members:read', 'path', 'admin'),
  'latchkey.v1.OrgService.RevokeInvitation': user('members:write', 'path', 'admin'),
  'latchkey.v1.OrgService.AcceptInvitation': user('user:write'),
  'latchkey.v1.OrgService.AddClientOrganization': user('orgs:write', 'header', 'admin', { partnerApi: true }),
  'latchkey.v1.OrgService.ListClientOrganizations': user('orgs:read', 'header', 'member', { partnerApi: true, foreign: 'empty' }),
  'latchkey.v1.OrgService.ListAuditEvents': user('audit:read', 'path', 'admin'),

  'latchkey.v1.ApiKeyService.CreateApiKey': user('api-keys:write'),
  'latchkey.v1.ApiKeyService.ListApiKeys': user('api-keys:read'),
  'latchkey.v1.ApiKeyService.GetApiKey': user('api-keys:read'),
  'latchkey.v1.ApiKeyService.UpdateApiKey': user('api-keys:write'),
  'latchkey.v1.ApiKeyService.RegenerateApiKey': user('api-keys:write'),
  'latchkey.v1.ApiKeyService.RevokeApiKey': user('api-keys:write'),
  'latchkey.v1.ApiKeyService.VerifyApiKey': user('introspect', 'header', 'admin'), // like IntrospectToken: an admin's credential in the organization it acts in
  'latchkey.v1.ApiKeyService.ReportLeakedApiKey': pub,

  'latchkey.v1.TokenService.SignInWithApiKey': pub, // authenticates with its own x-api-key / x-api-key-id headers
  // Sessions hold `introspect` through an admin role, so the call names its organization (keys default to theirs).
  'latchkey.v1.TokenService.IntrospectToken': user('introspect', 'header', 'admin'),
  'latchkey.v1.TokenService.GetJwks': pub,
};
